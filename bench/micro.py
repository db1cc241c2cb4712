"""Micro-measurements behind the ablation table: what each of the engine's optimisations buys, one at a time.

    .venv/bin/python bench/micro.py IMAGE_DIR TEXT_TABLE [--quick]

Prints one JSON line per measurement: {"event": "micro", "group", "name", "value", "unit", ...}, or
{"event": "micro_failed", "group", "reason"} when a group cannot run (the others still do).
Timings are the best of a few repetitions after one warm-up, so a noisy machine inflates them least.
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from types import SimpleNamespace

_HOME = tempfile.mkdtemp(prefix="tl-micro-")
os.environ["TRANSFERLAB_HOME"] = _HOME  # always fresh: the "cold" decode must find no cache

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from harness import emit  # noqa: E402  (bench/ is on sys.path)

BATCH_FORWARD = 64   # the engine's frozen-pass batch
BATCH_TRAIN = 32     # the engine's default training batch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("images")
    parser.add_argument("table")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    reps = 1 if args.quick else 3
    state: dict = {}
    for name, group in (("decode", decode), ("forward", forward), ("train_step", train_step), ("text", text)):
        try:
            group(args, reps, state)
        except Exception as err:  # one broken group must not hide the others
            traceback.print_exc()
            emit(event="micro_failed", group=name, reason=f"{type(err).__name__}: {err}")
    shutil.rmtree(_HOME, ignore_errors=True)


# ---------------------------------------------------------------- decoding

def decode(args, reps, state) -> None:
    from tl_core.data import load_dataset, read_image
    from tl_core.inputs import decode_images, eval_geometry
    from tl_core.models import load_model

    backbone = load_model("", "image", 2)
    cfg = backbone.preprocess
    dataset = load_dataset(args.images)
    examples = dataset.examples
    state.update(backbone=backbone, examples=examples)
    sample = examples[:100] if args.quick else examples
    geometry = eval_geometry(cfg)
    draft = cfg.draft_size

    def serial(draft_size):
        t = time.perf_counter()
        for e in sample:
            geometry(read_image(e.path, draft_size=draft_size))
        return time.perf_counter() - t

    n = len(sample)
    _micro("decode", "full decode, 1 thread (no draft)", serial(None), "s", images=n)
    _micro("decode", "draft mode, 1 thread", serial(draft), "s", images=n, baseline="full decode, 1 thread (no draft)")
    best = min(_timed(lambda: decode_images(sample, cfg, use_cache=False)) for _ in range(reps))
    _micro("decode", f"engine decode_images, no cache ({os.cpu_count()} threads)", best, "s", images=n,
           baseline="draft mode, 1 thread")
    t = time.perf_counter()
    decoded = decode_images(sample, cfg)                       # cold: draft + thread pool + cache write
    _micro("decode", f"engine decode_images, cold ({os.cpu_count()} threads, writes cache)",
           time.perf_counter() - t, "s", images=n, baseline=f"engine decode_images, no cache ({os.cpu_count()} threads)")
    best = min(_timed(lambda: decode_images(sample, cfg)) for _ in range(reps))
    _micro("decode", "engine decode_images, warm cache", best, "s", images=n,
           baseline=f"engine decode_images, cold ({os.cpu_count()} threads, writes cache)")
    state["images"] = decoded.images


# ---------------------------------------------------------------- frozen forward

class _Pooled(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model.forward_head(self.model.forward_features(x), pre_logits=True)


def forward(args, reps, state) -> None:
    from tl_core.inputs import normalize

    backbone, images = state["backbone"], state["images"]
    x = images[:BATCH_FORWARD]
    while len(x) < BATCH_FORWARD:
        x = torch.cat([x, x])[:BATCH_FORWARD]
    x_cl = normalize(x, backbone.preprocess)                  # the engine's: float32, channels_last
    x_nchw = x_cl.contiguous()
    module = _Pooled(backbone.model).eval()

    def torch_rate(inputs, bf16: bool) -> float:
        def once():
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                module(inputs)
        once()
        return len(inputs) / min(_timed(once) for _ in range(reps))

    _micro("forward", "torch eager, NCHW, float32", torch_rate(x_nchw, False), "images/s")
    _micro("forward", "torch eager, channels_last, float32", torch_rate(x_cl, False), "images/s")
    _micro("forward", "torch eager, channels_last, bfloat16 autocast", torch_rate(x_cl, True), "images/s")

    import onnxruntime as ort
    path = Path(_HOME) / "features.onnx"
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x_nchw[:1],), str(path), dynamo=False, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=17)
    export_s = time.perf_counter() - t
    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    t = time.perf_counter()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    session_s = time.perf_counter() - t
    feed = {"x": x_nchw.numpy()}
    session.run(None, feed)
    rate = len(x_nchw) / min(_timed(lambda: session.run(None, feed)) for _ in range(reps))
    _micro("forward", "ONNX Runtime, CPU provider", rate, "images/s", export_s=export_s, session_s=session_s)
    # smaller batches keep ONNX Runtime's memory arena (most of a head-only run's peak RSS) smaller
    small = [{"x": x_nchw[i:i + 16].numpy()} for i in range(0, len(x_nchw), 16)]
    rate = len(x_nchw) / min(_timed(lambda: [session.run(None, f) for f in small]) for _ in range(reps))
    _micro("forward", "ONNX Runtime, CPU provider, batches of 16", rate, "images/s",
           baseline="ONNX Runtime, CPU provider")


# ---------------------------------------------------------------- training steps

def train_step(args, reps, state) -> None:
    from tl_core.freeze import apply_plan, keep_batchnorm_frozen
    from tl_core.inputs import normalize
    from tl_core.models import load_model

    images = state["images"]
    x = images[:BATCH_TRAIN]
    while len(x) < BATCH_TRAIN:
        x = torch.cat([x, x])[:BATCH_TRAIN]
    labels = torch.arange(BATCH_TRAIN) % 2

    def rate(step) -> float:
        step()
        return BATCH_TRAIN / min(_timed(step) for _ in range(reps))

    # A bare timm loop on pre-decoded tensors: the reference target 3 compares the engine's full fine-tune with.
    backbone = load_model("", "image", 2)
    model = backbone.model.train().to(memory_format=torch.channels_last)
    inputs = normalize(x, backbone.preprocess)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def full(bf16: bool):
        def step():
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = model(inputs)
            loss = F.cross_entropy(logits.float(), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return step

    _micro("train_step", "whole network, channels_last, float32 (bare timm loop)", rate(full(False)), "images/s")
    _micro("train_step", "whole network, channels_last, bfloat16 autocast (bare timm loop)", rate(full(True)),
           "images/s", baseline="whole network, channels_last, float32 (bare timm loop)")

    # Unfreeze the last 2 blocks: the engine trains the suffix on cached prefix activations.
    backbone = load_model("", "image", 2)
    plan = apply_plan(backbone, 2)
    first = plan.first_trainable
    prefix = nn.Sequential(*[m for b, m in backbone.stages if b < first]).eval()
    suffix_blocks = nn.Sequential(*[m for b, m in backbone.stages if b >= first])
    model = backbone.model
    inputs = normalize(x, backbone.preprocess)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        cached = prefix(inputs).float()
    cached = cached.clone()  # out of inference mode
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4)

    def suffix_step(run_prefix: bool):
        def step():
            model.train()
            keep_batchnorm_frozen(model)
            if run_prefix:
                with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
                    acts = prefix(inputs).float()
                acts = acts.clone()
            else:
                acts = cached
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits = model.forward_head(suffix_blocks(acts))
            loss = F.cross_entropy(logits.float(), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return step

    _micro("train_step", "unfreeze 2: frozen prefix run every step + suffix (bfloat16)", rate(suffix_step(True)),
           "images/s", baseline="whole network, channels_last, bfloat16 autocast (bare timm loop)")
    _micro("train_step", "unfreeze 2: suffix on cached prefix activations (bfloat16, the engine's path)",
           rate(suffix_step(False)), "images/s",
           baseline="unfreeze 2: frozen prefix run every step + suffix (bfloat16)")


# ---------------------------------------------------------------- text: length-sorted batches

def text(args, reps, state) -> None:
    from tl_core.data import load_dataset, split
    from tl_core.device import pick_runtime
    from tl_core.freeze import apply_plan
    from tl_core.inputs import tokenize, trim
    from tl_core.models import load_model
    from tl_core.task import Task

    dataset = load_dataset(args.table)
    train_idx, _ = split(dataset, 0.2, 0)
    backbone = load_model("", "text", len(dataset.classes))
    apply_plan(backbone, -1)
    texts = [dataset.examples[i].text for i in train_idx]
    labels = torch.tensor([dataset.classes.index(dataset.examples[i].label) for i in train_idx])
    tokens = tokenize(texts, backbone.tokenizer, backbone.preprocess.max_length)
    lengths = tokens.mask.sum(1)
    model = backbone.model.train()
    runtime = pick_runtime("cpu")
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-5)
    max_batches = 6 if args.quick else None

    def epoch(sorted_batches: bool) -> tuple[float, int, int]:
        # the engine's own batching (Task.train_batches), with or without its length sort
        fake = SimpleNamespace(train_size=len(labels), lengths=lengths if sorted_batches else None)
        batches = list(Task.train_batches(fake, BATCH_TRAIN, torch.Generator().manual_seed(0)))[:max_batches]
        tokens_done = sum(len(b) * int(lengths[b].max()) for b in batches)
        t = time.perf_counter()
        for b in batches:
            ids, mask = trim(tokens.ids[b], tokens.mask[b])
            with runtime.autocast():
                logits = model(ids, mask)
            loss = F.cross_entropy(logits.float(), labels[b])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return time.perf_counter() - t, tokens_done, len(batches)

    for sorted_batches in (True, False):
        seconds, padded_tokens, n = epoch(sorted_batches)
        what = "length-sorted batches (engine)" if sorted_batches else "random batches"
        _micro("text", f"fine-tune epoch, {what}", seconds, "s", batches=n, padded_tokens=padded_tokens,
               precision=runtime.label, partial_epoch=max_batches is not None,
               baseline="fine-tune epoch, random batches" if sorted_batches else None)


# ---------------------------------------------------------------- helpers

def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _micro(group: str, name: str, value: float, unit: str, **extra) -> None:
    emit(event="micro", group=group, name=name, value=value, unit=unit, **extra)


if __name__ == "__main__":
    main()
