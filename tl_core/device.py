"""Where training runs and in which precision: CUDA, then Apple MPS, then the CPU."""
from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    dtype: torch.dtype | None   # autocast dtype, None = float32

    @property
    def label(self) -> str:
        name = {"cuda": "GPU", "mps": "Apple GPU", "cpu": "CPU"}[self.device.type]
        if self.device.type == "cuda":
            name = f"GPU ({torch.cuda.get_device_name(self.device)})"
        precision = {torch.bfloat16: "bfloat16", torch.float16: "float16", None: "float32"}[self.dtype]
        return f"{name}, {precision}"

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)


def pick_runtime(preference: str = "auto") -> Runtime:
    device = _pick_device(preference)
    if device.type == "cuda":
        return Runtime(device, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    if device.type == "cpu" and cpu_has_bf16():
        return Runtime(device, torch.bfloat16)
    return Runtime(device, None)


def _pick_device(preference: str) -> torch.device:
    if preference != "auto":
        device = torch.device(preference)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("A GPU was asked for, but PyTorch sees none on this machine. Use 'auto' or 'cpu'.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@functools.cache
def cpu_has_bf16() -> bool:
    """bfloat16 autocast only pays on CPUs with native bf16 (AVX-512-BF16 or AMX); elsewhere it is slower."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def free_gpu_memory() -> None:
    """What a run that ran out of GPU memory held, handed back before it starts again with smaller batches."""
    import gc

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
