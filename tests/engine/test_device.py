"""Where and in which precision training runs: bfloat16 autocast must not change what the model sees."""
from __future__ import annotations

import pytest
import torch

from tl_core.device import Runtime, cpu_has_bf16, pick_runtime
from tl_core.inputs import normalize


# bfloat16 is emulated where the CPU lacks it (17 s for 40 photos on an AVX2 machine), and there the engine never
# trains in it (pick_runtime): 5 ants and 5 bees check the numerics; a CPU with bfloat16 checks all 40.
EMULATED = [*range(5), *range(20, 25)]


def test_bfloat16_agrees_with_float32(lite0_imagenet, val_photos, imagenet_logits):
    """Tolerance: the top-1 of 1,000 ImageNet classes agrees on at least 95 % of the val photos (measured: 100 % on
    the 40 and on the 10, 99.3 % on all 153), and probabilities differ by less than 0.1."""
    chosen = slice(None) if cpu_has_bf16() else EMULATED
    images, reference = val_photos[0][chosen], imagenet_logits[chosen]
    bf16 = Runtime(torch.device("cpu"), torch.bfloat16)
    with torch.no_grad(), bf16.autocast():
        logits = lite0_imagenet.model.eval()(normalize(images, lite0_imagenet.preprocess)).float()
    agree = (logits.argmax(1) == reference.argmax(1)).float().mean().item()
    assert agree >= 0.95
    assert (logits.softmax(1) - reference.softmax(1)).abs().max() < 0.1


def test_cpu_runtime_uses_bfloat16_only_where_the_cpu_has_it():
    runtime = pick_runtime("cpu")
    assert runtime.device.type == "cpu"
    assert runtime.dtype == (torch.bfloat16 if cpu_has_bf16() else None)
    assert runtime.label == ("CPU, bfloat16" if cpu_has_bf16() else "CPU, float32")


def test_asking_for_a_missing_gpu_says_what_to_use_instead():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ValueError, match="Use 'auto' or 'cpu'"):
        pick_runtime("cuda")
