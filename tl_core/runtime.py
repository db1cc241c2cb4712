"""The frozen part of a network, run once over all inputs by the fastest runtime on this machine.

On a CPU that is ONNX Runtime (about 2x torch bfloat16 and 5x torch float32 for EfficientNet-Lite0
here); the exported graph is cached per model and split point, so only the first run pays the export.
Elsewhere (GPU, or where export fails) it is torch under inference_mode and autocast.
"""
from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from .device import Runtime
from .workspace import cache_dir, touch_cache

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
# Pictures per call on a CPU, through either runtime. ONNX Runtime's arena grows to the largest batch's activations,
# and a cold session pays for every page of that on its first calls: 199 pictures through a fresh session took 5.4 s
# in batches of 64 and 2.0 s in batches of 16 for EfficientNet-Lite0's per-block graph (8.8 and 3.7 s for Lite2's),
# while a warm session runs them at the same speed in either (1.7-1.9 s). Torch runs small batches faster too, their
# activations staying in cache: the ranking's random-weight Lite2 over 99 pictures took 2.5-2.7 s in batches of 16
# and 3.1-3.8 s in batches of 64 under bfloat16 autocast, 4.4-5.8 and 5.9-7.1 s in float32. 2 AVX-512 cores.
CPU_BATCH = 16
log = logging.getLogger(__name__)


@contextlib.contextmanager
def freed_batches_go_back_to_the_os():
    """While a frozen pass runs, glibc hands every batch-sized buffer straight back to the system.

    By default glibc raises its mmap threshold after the first large frees and from then on serves
    batch-sized buffers from a heap it rarely shrinks: over a 20 000-picture frozen pass (36 000
    views) RSS grew by 3.3 GB that way. A 128 kB threshold keeps it flat, but makes every large
    tensor a fresh mapping, which halved training-step speed here; so afterwards the thresholds go
    to where glibc's own adjustment settles for big buffers (32 MB, trim at 64 MB), and training
    reuses its heap as before.
    """
    try:
        import ctypes

        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to tune
        yield
        return
    mallopt(M_MMAP_THRESHOLD, 128 * 1024)
    try:
        yield
    finally:
        mallopt(M_MMAP_THRESHOLD, 32 * 1024**2)
        mallopt(M_TRIM_THRESHOLD, 64 * 1024**2)


def run_frozen(module: nn.Module, inputs: torch.Tensor, runtime: Runtime, key: str | None, batch_size: int = 64,
               on_batch: Callable[[int, int], None] = lambda done, total: None) -> torch.Tensor:
    """`module(batch)` over `inputs` in batches (of CPU_BATCH at most on a CPU), float32 out on the CPU.

    `key` names the module's weights and split point for the ONNX cache; None = torch only.
    `on_batch(done, total)` reports progress: this pass is most of a head-only run's time.
    """
    module.eval()
    forward = None
    if key is not None and runtime.device.type == "cpu" and len(inputs) >= 16:
        forward = _onnx_forward(module, inputs[:1], key)
    if forward is None:
        forward = _torch_forward(module, runtime)
    if runtime.device.type == "cpu":
        batch_size = min(batch_size, CPU_BATCH)
    outs = []
    with freed_batches_go_back_to_the_os(), ThreadPoolExecutor(1) as cutter:
        for start, batch in _cut_ahead(cutter, inputs, batch_size):
            outs.append(forward(batch.to(runtime.device)))
            on_batch(min(start + batch_size, len(inputs)), len(inputs))
    return torch.cat(outs)


def _cut_ahead(cutter: ThreadPoolExecutor, inputs, batch_size: int):
    """(start, batch) in order, the next batch cut in `cutter`'s thread while the caller runs this one (both leave
    the GIL). Over 4 views of 600 plant_tomato pictures and 400 validation ones (2 of them random crops and flips),
    the pass took 32.1 s so and 34.4 s cutting each batch in turn (A/B in one process, 2 cores)."""
    def cut(start: int) -> torch.Tensor:
        return inputs[start:start + batch_size]

    ahead = cutter.submit(cut, 0)
    for start in range(0, len(inputs), batch_size):
        batch = ahead.result()
        if start + batch_size < len(inputs):
            ahead = cutter.submit(cut, start + batch_size)
        yield start, batch


def _torch_forward(module: nn.Module, runtime: Runtime):
    module.to(runtime.device)

    def forward(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(), runtime.autocast():
            return module(x).float().cpu()

    return forward


def _onnx_forward(module: nn.Module, sample: torch.Tensor, key: str):
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    path = cache_dir("onnx") / f"{key}.onnx"
    touch_cache(path)
    if not path.exists() and not export_onnx(module.cpu(), sample.cpu(), path):
        return None
    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    # ONNX Runtime's memory pattern (on by default) plans one block for a whole call from the first call's allocations:
    # on a fresh process's session over 149 pictures that doubled the page faults (190 000 against 87 000) and took
    # 3.2-3.4 s against 2.7 s for Lite2's per-block graph, its first call in the cold ranking, and 400 MB more peak
    # memory; over 1,600 Lite0 views it ran at the same speed either way (104-110 pictures/s), 100 MB lighter without.
    # 2 AVX-512 cores, fresh process per run, alternated.
    options.enable_mem_pattern = False
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def forward(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(None, {"x": x.contiguous().numpy()})[0])

    return forward


def export_onnx(module: nn.Module, sample: torch.Tensor, path: Path, names: tuple[str, str] = ("x", "y")) -> bool:
    """Export with a dynamic batch size; False when the exporter cannot trace the architecture.

    The TorchScript-based exporter (dynamo=False) takes 0.3 s for EfficientNet-Lite0 here, several
    times less than the dynamo one, and handles every model in the catalogue. Each export writes a temporary file
    of its own: a ranking job and a training run ranking for itself can export the same graph at once.
    """
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (sample,), str(tmp), dynamo=False, input_names=[names[0]],
                              output_names=[names[1]], dynamic_axes={n: {0: "batch"} for n in names}, opset_version=17)
    except Exception as err:  # an architecture the exporter cannot trace still trains, through torch
        log.warning("Could not export %s to ONNX (%s: %s).", type(module).__name__, type(err).__name__, err)
        tmp.unlink(missing_ok=True)
        return False
    os.replace(tmp, path)
    return True
