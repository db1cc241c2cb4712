"""Training: one entry point, `train(config, on_event)`, and the loop it runs.

What trains and on what depends on the plan (see `tasks.py`): a head on cached frozen features, the
last blocks on cached prefix activations, or the whole network on augmented images. The loop below
is the same for all of them: AdamW, warm-up then cosine decay, a lower learning rate for pretrained
blocks than for the new head, the best epoch kept (the head fitted before fine-tuning counts as epoch 0),
a stop flag checked every step. A continuation of an earlier run (`resume.py`) starts from that run's best
model and numbers its epochs on from there.
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from . import events, run_files
from .auto import choose
from .calibration import calibrate
from .checkpoint import load_earlier_weights
from .config import MIN_STEPS_PER_EPOCH, RunConfig, check_settings
from .data import DataError
from .device import Runtime, free_gpu_memory, pick_runtime
from .evaluate import classification_metrics
from .freeze import apply_plan, keep_batchnorm_frozen
from .models import ModelUnavailable, load_model
from .resume import earlier_run, first_epoch
from .rundata import open_run_data
from .tasks import Task, build_task
from .workspace import trim_caches, write_json

PROGRESS_EVERY_S = 0.5   # progress events at most this often: a UI polls, it does not need every step
SAVE_EVERY_EPOCH_AFTER_S = 10.0  # epochs longer than this save the best model as soon as it improves


class TrainingFailed(RuntimeError):
    """Training could not finish; str() is the sentence shown to the user."""


@dataclass
class TrainResult:
    status: str                # "finished" | "cancelled"
    best_epoch: int
    best_val_accuracy: float
    metrics: dict
    elapsed_s: float
    run_dir: Path | None


def train(config: RunConfig, on_event: events.EventSink = events.ignore,
          should_stop: Callable[[], bool] = lambda: False, run_dir: Path | None = None) -> TrainResult:
    """Train as `config` says, reporting through `on_event`; save the model into `run_dir` if given."""
    started = time.time()
    try:
        task, runtime = _build(config, on_event)
        return TrainingLoop(config, task, runtime, on_event, should_stop, run_dir, started).run()
    except torch.OutOfMemoryError:
        current = config.batch_size or 32  # automatic sizes are 32 or less
        if current <= 1:
            reason = "The model does not fit in the GPU's memory even one example at a time. Pick a smaller model."
            on_event(events.make(events.FAILED, reason=reason))
            raise TrainingFailed(reason) from None
        smaller = dataclasses.replace(config, batch_size=current // 2)
        on_event(events.make(events.NOTE, text=f"The GPU ran out of memory with batches of {current}; "
                                               f"starting again with batches of {smaller.batch_size}."))
        free_gpu_memory()
        return train(smaller, on_event, should_stop, run_dir)
    except OSError as err:
        if not _is_storage_error(err):
            raise
        reason = (f"Could not save the model ({err.strerror or err}): the disk is full or the workspace is "
                  "read-only. Free some space and train again; earlier saved files were left intact.")
        on_event(events.make(events.FAILED, reason=reason))
        raise TrainingFailed(reason) from err
    except (DataError, ModelUnavailable, ValueError) as err:
        on_event(events.make(events.FAILED, reason=str(err)))
        raise TrainingFailed(str(err)) from err


def prepare(config: RunConfig, on_event: events.EventSink = events.ignore) -> None:
    """Fill the caches a head-only run of `config` reads: decoded pictures (or tokens) and frozen features.

    The app asks its warm worker for this while the person is still choosing settings, so that Start
    has only the new head left to train (under a second on the examples here). Runs that unfreeze
    blocks reuse the same decoded pictures and the features their linear probe starts from.
    """
    _build(dataclasses.replace(config, unfreeze=0, from_scratch=False, resume_from=""), on_event)


def _build(config: RunConfig, on_event: events.EventSink) -> tuple[Task, Runtime]:
    check_settings(config)
    trim_caches()
    chosen = choose(config, on_event)  # `--model auto` / `--unfreeze auto`, made before the model loads
    config = chosen.applied(config)
    data = open_run_data(config)
    dataset = data.dataset
    runtime = pick_runtime(config.device)
    torch.manual_seed(config.seed)
    backbone = load_model(config.model, dataset.kind, len(dataset.classes), pretrained=not config.from_scratch)
    plan = apply_plan(backbone, config.unfreeze, config.from_scratch)
    earlier = earlier_run(config)
    if earlier is not None:  # a continuation starts from the earlier run's best model
        load_earlier_weights(backbone, earlier.dir, dataset.classes, plan)
    task = build_task(config, dataset, data.train_idx, data.val_idx, backbone, plan, runtime, on_event)
    task.info.update(chosen.event_fields())  # the `started` event says what was chosen, and why
    return task, runtime


def _is_storage_error(err: OSError) -> bool:
    return err.errno in (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EDQUOT)


class TrainingLoop:
    def __init__(self, config: RunConfig, task: Task, runtime, on_event, should_stop, run_dir, started: float):
        self.config, self.task, self.runtime = config, task, runtime
        self.emit, self.should_stop, self.run_dir, self.started = on_event, should_stop, run_dir, started
        self.first_epoch = first_epoch(config)  # a continuation numbers its epochs on from the earlier run's best

    def run(self) -> TrainResult:
        task, config = self.task, self.config
        # channels_last: convolutions run in the layout the inputs come in (1.1-2x faster on CPU and tensor cores)
        model = task.module.to(self.runtime.device, memory_format=torch.channels_last)
        fused = self.runtime.device.type in ("cpu", "cuda")  # one kernel per step: 7x faster for MiniLM's 23 M
        optimizer = torch.optim.AdamW(task.param_groups(), weight_decay=task.weight_decay, fused=fused)
        batch_size = max(1, min(task.batch_size, task.train_size // MIN_STEPS_PER_EPOCH))
        steps_per_epoch = math.ceil(task.train_size / batch_size)
        total_steps = task.epochs * steps_per_epoch
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _warmup_cosine(total_steps))
        scaler = torch.amp.GradScaler(enabled=self.runtime.dtype == torch.float16)
        best = self._head_first() if "head_fit" in task.info else NOTHING_KEPT
        self.emit(events.make(events.STARTED, **task.describe(), device=self.runtime.label,
                              epochs=task.epochs, steps=total_steps, batch_size=batch_size,
                              first_epoch=self.first_epoch, continues=config.resume_from or None))
        # A linear head on cached features is microseconds of work: bfloat16 and a second thread only add overhead.
        autocast = contextlib.nullcontext if task.lightweight else self.runtime.autocast
        threads = torch.get_num_threads()
        if task.lightweight:
            torch.set_num_threads(1)
        try:
            return self._epochs(task, model, optimizer, scheduler, scaler, autocast, batch_size, total_steps, best)
        finally:
            torch.set_num_threads(threads)

    def _head_first(self) -> dict:
        """Epoch 0, scored like an epoch: the network with the linear probe (which fine-tuning starts from) or with
        the head trained alone as a head-only run trains it (`Task.head_alone`), whichever scores higher. It is kept
        only when every epoch scores below it (a tie goes to the epoch: the person asked for fine-tuning), so
        unfreezing never ends below head only. Before, chest_xray_nih's unfreeze 3 kept its first epoch, 60.8 %
        against the probe's 79.2 %. The `started` event's `head_fit` takes its figures (the chart's epoch 0)."""
        task = self.task
        val_loss, val_acc, probs = task.validate(self.runtime)
        fitted = {"val_loss": val_loss, "val_accuracy": val_acc}
        state = _snapshot(task.module)
        alone = self._train_head_alone() if task.head_alone is not None else None
        if alone is not None:
            probe_head = _snapshot(task.head)
            task.head.load_state_dict(alone["state"])
            alone_loss, alone_acc, alone_probs = task.validate(self.runtime)  # the whole network, with that head
            if alone_acc > val_acc:
                val_acc, probs, state = alone_acc, alone_probs, _snapshot(task.module)
                fitted = {"train_loss": alone["train_loss"], "val_loss": alone_loss, "val_accuracy": alone_acc,
                          "trained_alone": True}
            task.head.load_state_dict(probe_head)  # fine-tuning starts from the probe either way
        task.info["head_fit"].update(fitted, elapsed_s=time.time() - self.started)  # when epoch 0 was reached
        return {"epoch": self.first_epoch - 1, "accuracy": val_acc, "state": state, "probs": probs,
                "fitted_head": True}

    def _train_head_alone(self) -> dict | None:
        """The task's copy of the head trained alone (well under a second on cached features): its weights and its
        best epoch's training loss; None when it diverged or the run was stopped meanwhile."""
        epochs = []
        try:
            result = TrainingLoop(self.config, self.task.head_alone, self.runtime, _epochs_into(epochs),
                                  self.should_stop, None, self.started).run()
        except TrainingFailed:  # diverged: the probe stays epoch 0
            return None
        if result.status != "finished":
            return None
        best = next(e for e in epochs if e["epoch"] == result.best_epoch)
        return {"state": _snapshot(self.task.head_alone.module), "train_loss": best["train_loss"]}

    def _epochs(self, task, model, optimizer, scheduler, scaler, autocast, batch_size: int, total_steps: int,
                best: dict):
        config = self.config
        step, since_better, last_progress = 0, 0, 0.0
        generator = torch.Generator().manual_seed(config.seed)
        for epoch in range(self.first_epoch, self.first_epoch + task.epochs):
            window_start, window_samples = time.time(), 0  # the rate counts training steps, not validation
            epoch_start = window_start
            model.train()
            if task.frozen_batchnorm:
                keep_batchnorm_frozen(model)
            losses = []
            for batch in task.train_batches(batch_size, generator):
                inputs, labels = task.to_device(batch, self.runtime.device)
                with autocast():
                    logits = task.forward(inputs, True)
                loss = F.cross_entropy(logits.float(), labels)
                if not torch.isfinite(loss):
                    return self._diverged(best)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                step += 1
                losses.append(loss.item())
                window_samples += len(labels)
                now = time.time()
                if now - last_progress >= PROGRESS_EVERY_S or step == total_steps:
                    rate = window_samples / max(now - window_start, 1e-9)
                    self.emit(events.make(events.PROGRESS, step=step, steps=total_steps, epoch=epoch, loss=loss.item(),
                                          samples_per_s=rate, eta_s=(total_steps - step) * batch_size / max(rate, 1e-9)))
                    last_progress, window_start, window_samples = now, now, 0
                if self.should_stop():
                    return self._finish(best, "cancelled")  # within one step; the partial epoch is not scored
                if self._out_of_time():
                    break  # the steps of this epoch so far are scored below, as a partial epoch
            val_loss, val_acc, probs = task.validate(self.runtime)
            if not math.isfinite(val_loss):
                return self._diverged(best)
            self.emit(events.make(events.EPOCH, epoch=epoch, train_loss=sum(losses) / len(losses), val_loss=val_loss,
                                  val_accuracy=val_acc, lr=optimizer.param_groups[0]["lr"],
                                  elapsed_s=time.time() - self.started,
                                  partial=step < (epoch - self.first_epoch + 1) * total_steps // task.epochs))
            if val_acc > best["accuracy"] or val_acc == best["accuracy"] and best.get("fitted_head"):
                best = {"epoch": epoch, "accuracy": val_acc, "state": _snapshot(model), "probs": probs}
                since_better = 0
                if self.run_dir is not None and time.time() - epoch_start > SAVE_EVERY_EPOCH_AFTER_S:
                    task.save(self.run_dir)  # slow epochs: a killed worker still leaves its best model behind
            else:
                since_better += 1
            if epoch == self.first_epoch + task.epochs - 1:
                break
            if task.early_stop and since_better >= task.early_stop:
                return self._finish(best, "finished", ended=events.EARLY_STOP, patience=task.early_stop)
            if self._out_of_time():
                return self._finish(best, "finished", ended=events.TIME_LIMIT)
        return self._finish(best, "finished")

    def _out_of_time(self) -> bool:
        """The run's time limit (seconds since it started, preparation included) has passed."""
        return bool(self.config.time_limit_s) and time.time() - self.started >= self.config.time_limit_s

    def _finish(self, best: dict, status: str, **ended) -> TrainResult:
        """Keep the best epoch's weights and metrics; `ended`: why a finished run stopped before its last epoch."""
        if best["state"] is None:  # stopped before the first epoch ended: nothing worth keeping
            self.emit(events.make(events.CANCELLED, best_epoch=0, best_val_accuracy=None))
            return TrainResult("cancelled", 0, 0.0, {}, time.time() - self.started, self.run_dir)
        self.task.module.load_state_dict(best["state"])
        temperature, probs = calibrate(self.task.head, best["probs"], self.task.val_labels)  # accuracy unchanged
        metrics = classification_metrics(probs, self.task.val_labels, self.task.classes, self.task.val_names)
        metrics.update(best_epoch=best["epoch"], device=self.runtime.label, temperature=temperature)
        if self.run_dir is not None:
            self.task.save(self.run_dir)
            write_json(Path(self.run_dir) / run_files.METRICS, metrics)
        elapsed = time.time() - self.started
        ending = events.FINISHED if status == "finished" else events.CANCELLED
        self.emit(events.make(ending, best_epoch=best["epoch"], best_val_accuracy=metrics["accuracy"],
                              elapsed_s=elapsed, run=str(self.run_dir) if self.run_dir else None, **ended))
        return TrainResult(status, best["epoch"], metrics["accuracy"], metrics, elapsed, self.run_dir)

    def _diverged(self, best: dict) -> TrainResult:
        reason = "Training became unstable (the loss is no longer a number) — try a lower learning rate."
        if best["state"] is not None and self.run_dir is not None:
            self.task.module.load_state_dict(best["state"])
            self.task.save(self.run_dir)
            reason += f" The best model so far (epoch {best['epoch']}) was kept."
        self.emit(events.make(events.FAILED, reason=reason, best_epoch=best["epoch"]))
        raise TrainingFailed(reason)


def _epochs_into(into: list) -> events.EventSink:
    def sink(event: dict) -> None:
        if event["event"] == events.EPOCH:
            into.append(event)
    return sink


NOTHING_KEPT = {"epoch": 0, "accuracy": -1.0, "state": None}  # before the first epoch of a run with no probe


def _snapshot(model: torch.nn.Module) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _warmup_cosine(total_steps: int) -> Callable[[int], float]:
    warmup = max(1, min(total_steps // 10, 100))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    return factor
