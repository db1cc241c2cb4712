"""TransferLab on a CUDA GPU: the suite's image fine-tuning modes, and the data pipeline's share of a training step.

    .venv/bin/python bench/gpu.py            # every suite image dataset; writes docs/gpu.md (docs/quality.md links it)
    .venv/bin/python bench/gpu.py --quick    # plant_tomato only, fewer steps (about 3 minutes on one GPU)

1. The engine, as a person runs it: `transferlab train DATA --model M --unfreeze 0|2|all --device cuda --json`,
   one process each with a fresh TRANSFERLAB_HOME (cold caches), the engine's own recipe (epochs, lr) and a guard
   time limit. On CUDA the engine trains under autocast in bfloat16 where the GPU supports it, else float16 with a
   GradScaler (tl_core/device.py `pick_runtime`, tl_core/trainer.py), with the model and every image batch in
   channels_last (trainer.py, inputs.py `normalize`); frozen passes run in torch under inference_mode and autocast
   (ONNX Runtime is the CPU's path, tl_core/runtime.py).
2. The data pipeline's share of a step, in this process: the engine's own Task for the run (`tl_core.trainer._build`,
   what `train` builds), then its training steps by hand, as trainer.py runs them, with torch.cuda.synchronize()
   around each part: *batch* = choosing the batch's rows and copying them to the GPU (`Task.to_device`); *step* =
   forward (for the full network this includes the augmentation and normalisation, which run on the GPU), loss,
   backward, optimizer step. Share = batch time ÷ (batch + step) time.

Exits with status 2 and a sentence when PyTorch sees no CUDA GPU.
"""
from __future__ import annotations

import argparse
import datetime
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from harness import ROOT, SHARED, fmt, log, machine, pct  # bench/ is on sys.path
from quality import PRIMARY, SUITE, Budget, Row, run_row, write
from speed import transferlab

MODES = (("head only", ("--unfreeze", "0"), 0), ("unfreeze 2", ("--unfreeze", "2"), 2),
         ("all", ("--unfreeze", "all"), -1))
GUARD_S = 300  # a time limit only to end a run that hangs; the engine's recipe decides how long each trains


def cuda_or_exit() -> str:
    """The GPU's name, or exit with a sentence saying why this bench cannot run here."""
    import torch

    if not torch.cuda.is_available():
        fix = ("this PyTorch is built for CPUs only: install a CUDA build" if torch.version.cuda is None else
               f"this PyTorch is built for CUDA {torch.version.cuda} but finds no GPU or driver: run it where "
               "`nvidia-smi` lists a GPU")
        log(f"bench/gpu.py measures training on a CUDA GPU, and PyTorch sees none here ({fix}). Nothing was run; "
            "docs/quality.md says the GPU figures were not measured.")
        raise SystemExit(2)
    return torch.cuda.get_device_name(0)


def engine_runs(args, scratch: Path) -> list[dict]:
    out = []
    plan = [(s, m) for s in SUITE if s.kind == "image" and s.name in args.only for m in MODES]
    for i, (suite, (mode, flags, unfreeze)) in enumerate(plan, start=1):
        cmd = transferlab() + ["train", str(SHARED / suite.path), "--model", args.model, *flags, "--device", "cuda",
                               "--json"]
        row = Row(suite, args.model, mode, "engine", cmd, Budget(0, "head", GUARD_S, GUARD_S), unfreeze)
        log(f"[{i}/{len(plan)}] {row.id} ...")
        home = scratch / f"home-{i}"
        home.mkdir()
        r = run_row(row, GUARD_S, {**os.environ, "TRANSFERLAB_HOME": str(home), "HF_HUB_OFFLINE": "1"})
        shutil.rmtree(home, ignore_errors=True)
        log(f"        {r.get('status')}: best {pct(r.get('best_acc'))}, whole process {fmt(r.get('wall_s'))} s")
        out.append({"dataset": suite.name, "mode": mode, **r})
    return out


def pipeline_share(data: Path, model: str, unfreeze: int, steps: int) -> dict:
    """Batch preparation vs the whole training step, timed with torch.cuda.synchronize(), on the engine's Task."""
    import torch
    import torch.nn.functional as F

    from tl_core import RunConfig
    from tl_core.freeze import keep_batchnorm_frozen
    from tl_core.trainer import _build

    task, runtime = _build(RunConfig(data=str(data), model=model, unfreeze=unfreeze, device="cuda"), lambda e: None)
    module = task.module.to(runtime.device, memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(task.param_groups(), weight_decay=task.weight_decay, fused=True)
    scaler = torch.amp.GradScaler(enabled=runtime.dtype == torch.float16)
    batch_size = min(task.batch_size, task.train_size)
    generator = torch.Generator().manual_seed(0)
    module.train()
    if task.frozen_batchnorm:
        keep_batchnorm_frozen(module)
    batch_s, step_s, warmup = [], [], 3  # the first steps pay for cuDNN's algorithm search
    torch.cuda.reset_peak_memory_stats()
    while len(step_s) < steps + warmup:
        for index in task.train_batches(batch_size, generator):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            inputs, labels = task.to_device(index, runtime.device)
            torch.cuda.synchronize()
            t1 = time.perf_counter()
            with runtime.autocast():
                logits = task.forward(inputs, True)
            loss = F.cross_entropy(logits.float(), labels)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            torch.cuda.synchronize()
            batch_s.append(t1 - t0)
            step_s.append(time.perf_counter() - t1)
            if len(step_s) >= steps + warmup:
                break
    batch_s, step_s = batch_s[warmup:], step_s[warmup:]
    total = sum(batch_s) + sum(step_s)
    return {"path": task.path.value, "device": runtime.label, "batch_size": batch_size, "steps": len(step_s),
            "batch_ms": statistics.median(batch_s) * 1e3, "step_ms": statistics.median(step_s) * 1e3,
            "share": sum(batch_s) / total, "samples_per_s": batch_size * len(step_s) / total,
            "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20}


def report(gpu: str, model: str, runs: list[dict], shares: list[dict], info: dict, total_s: float, quick: bool) -> str:
    lines = ["| dataset | mode | path, precision | best val acc | best at (s) | whole process (s) | samples/s "
             "| peak RSS (MB) |", "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        status = "" if r.get("status") == "ok" else f" (**{r.get('status')}**)"
        lines.append(f"| {r['dataset']} | {r['mode']} | {r.get('path') or '—'}, {r.get('device') or '—'} | "
                     f"{pct(r.get('best_acc'))}{status} | {fmt(r.get('time_to_best_s'))} | {fmt(r.get('wall_s'))} | "
                     f"{fmt(r.get('samples_per_s'), '.0f')} | {fmt(r.get('peak_rss_mb'), '.0f')} |")
    share = ["| dataset | mode | path, precision | batch | steps | batch preparation (ms, median) | rest of the step "
             "(ms, median) | pipeline's share | samples/s | peak GPU memory (MB) |", "|" + "---|" * 10]
    for s in shares:
        if "error" in s:
            share.append(f"| {s['dataset']} | {s['mode']} | **{s['error']}** |" + " — |" * 7)
            continue
        share.append(f"| {s['dataset']} | {s['mode']} | {s['path']}, {s['device']} | {s['batch_size']} | "
                     f"{s['steps']} | {s['batch_ms']:.2f} | {s['step_ms']:.2f} | {s['share'] * 100:.1f} % | "
                     f"{s['samples_per_s']:.0f} | {s['peak_gpu_mb']:.0f} |")
    banner = "> Quick run (`--quick`): plant_tomato only, fewer steps.\n\n" if quick else ""
    command = "bench/gpu.py" + (" --quick" if quick else "")
    host = f"{info.get('cpu', '?')}, {info.get('cores')} cores"
    return f"""# On a GPU

{banner}Measured {datetime.datetime.now():%Y-%m-%d %H:%M} by `{command}` in {total_s / 60:.1f} minutes on {gpu} ({host});
Python {info['python']}, torch {info.get('torch', '?')}; commit {info.get('commit', '?')}.

On CUDA the engine trains under autocast in bfloat16 (float16 with a GradScaler on GPUs without it), model and
batches in channels_last; frozen passes run in torch (inference_mode + autocast), not ONNX Runtime.

## The engine, each mode (`--model {model}`)

Each run is `transferlab train DATA … --device cuda --json` in its own process, cold caches, the engine's own
epochs and learning rates.

{chr(10).join(lines)}

## The data pipeline's share of a step

The engine's Task for the run, stepped as trainer.py steps it, synchronised around each part. *Batch preparation*:
picking the batch's rows and copying them to the GPU; *rest of the step*: forward (with the GPU-side augmentation
and normalisation of the full-network path), loss, backward, optimizer step.

{chr(10).join(share)}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="plant_tomato only, fewer steps")
    parser.add_argument("--only", default="", help="comma-separated image datasets of the suite")
    parser.add_argument("--model", default=PRIMARY["image"])
    parser.add_argument("--steps", type=int, default=50, help="timed steps per pipeline measurement")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "gpu.md")
    args = parser.parse_args()
    gpu = cuda_or_exit()
    images = [s.name for s in SUITE if s.kind == "image"]
    args.only = args.only.split(",") if args.only else (["plant_tomato"] if args.quick else images)
    steps = 20 if args.quick else args.steps
    started = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="tl-gpu-"))
    os.environ["TRANSFERLAB_HOME"] = str(scratch / "home-pipeline")
    try:
        runs = engine_runs(args, scratch)
        shares = []
        for suite in (s for s in SUITE if s.name in args.only):
            for mode, _, unfreeze in MODES[1:]:
                log(f"pipeline share: {suite.name}, {mode} ...")
                try:
                    found = pipeline_share(SHARED / suite.path, args.model, unfreeze, steps)
                except Exception as err:  # the engine's internals moved: say so in the table, keep the rest
                    found = {"error": f"{type(err).__name__}: {err}".replace("|", "/")}
                shares.append({"dataset": suite.name, "mode": mode, **found})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    text = report(gpu, args.model, runs, shares, machine(), time.perf_counter() - started, args.quick)
    print(text)
    write(args.out, text)
    log(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
