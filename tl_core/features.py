"""The frozen network's outputs, computed once and kept on disk: pooled features and prefix activations.

The frozen pass is most of a head-only run's time, so a second run on the same data (another N,
another learning rate, or Start after the warm worker prepared ahead) reads it back. Every entry is
named by `feature_key`, for pictures and texts alike: which weights, which preprocessing, which
inputs, which precision, which output.
"""
from __future__ import annotations

from typing import Callable

import torch
from safetensors import SafetensorError
from torch import nn

from .device import Runtime
from .inputs import Normalized, Tokens, Views, trim
from .models.backbone import Backbone
from .models.catalog import weights_identity
from .runtime import run_frozen
from .workspace import cache_dir, digest, load_tensors, save_tensors, touch_cache

PREFIX_CACHE_BYTES = 4 * 1024**3   # beyond this, the prefix runs every step instead of being cached

Progress = Callable[[int, int], None]  # (done, total)


def model_key(backbone: Backbone) -> str:
    """Names a model's weights; an ONNX graph exported from them serves every dataset."""
    return digest(backbone.name, backbone.arch, weights_identity(backbone.name))


def feature_key(backbone: Backbone, inputs: str, runtime: Runtime, *output: object) -> str:
    """The one name of a cached frozen output.

    `inputs` names the examples as the network saw them (decoded files and their views, or the texts);
    the runtime's label is part of it because bfloat16 features are not float32 features.
    """
    return digest(model_key(backbone), backbone.preprocess.to_dict(), inputs, runtime.label, *output)


def cached_tensor(key: str, compute: Callable[[], torch.Tensor]) -> torch.Tensor:
    """Frozen outputs on disk, so a second run on the same data (another N, another lr) skips the forward."""
    path = cache_dir("frozen") / f"{key}.safetensors"
    if path.exists():
        touch_cache(path)
        try:
            return load_tensors(path)["x"]
        except (OSError, SafetensorError):  # a damaged cache entry is computed again
            pass
    value = compute()
    save_tensors(path, {"x": value}, durable=False)
    return value


class FeatureExtractor(nn.Module):
    """The backbone up to the head's input, as one module an exporter can trace."""

    def __init__(self, backbone: Backbone):
        super().__init__()
        self.model = backbone.model
        self.fn = backbone.features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


class PooledBlocks(nn.Module):
    """An image model's chain of stages, average-pooled after each block and concatenated (input side first), as
    one module an exporter can trace. The last block's part is the head's input, the numbers FeatureExtractor
    gives, so one frozen pass serves a model's score and its per-block scores (`select.block_features`)."""

    def __init__(self, backbone: Backbone):
        super().__init__()
        stages = backbone.stages
        self.units = nn.ModuleList(module for _, module in stages)
        self.ends = [i + 1 == len(stages) or stages[i + 1][0] != block for i, (block, _) in enumerate(stages)]
        # each block's width, from one small picture: the channels do not depend on its size, and at 260 px the
        # pass took a second of a loaded 2-core machine's time
        device = next(backbone.model.parameters()).device
        with torch.no_grad():
            picture = torch.zeros(1, backbone.preprocess.input_size[0], 64, 64, device=device)
            self.widths = [part.shape[1] for part in self.parts(picture)]

    def parts(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for unit, end in zip(self.units, self.ends):
            x = unit(x)
            if end:
                out.append(x.mean((2, 3)))  # (B, channels)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(self.parts(x), 1)


def cached_image_features(backbone: Backbone, views: Views, views_key: str, runtime: Runtime,
                          on_batch: Progress) -> torch.Tensor:
    """Pooled features of every view (training views, then validation pictures)."""
    return cached_tensor(feature_key(backbone, views_key, runtime, "features"), lambda: run_frozen(
        Normalized(FeatureExtractor(backbone), backbone.preprocess), views, runtime,
        key=digest(model_key(backbone), "uint8 features"), on_batch=on_batch))


def cached_prefix(backbone: Backbone, first: int, views: Views, views_key: str, runtime: Runtime,
                  on_batch: Progress) -> torch.Tensor:
    """What the frozen blocks before block `first` output for every view."""
    prefix = nn.Sequential(*[m for b, m in backbone.stages if b < first])
    return cached_tensor(feature_key(backbone, views_key, runtime, "prefix", first), lambda: run_frozen(
        Normalized(prefix, backbone.preprocess), views, runtime, key=digest(model_key(backbone), "uint8 prefix", first),
        on_batch=on_batch))


class FrozenRest(nn.Module):
    """The blocks from `first` on, as downloaded, then the pooling before the head: prefix activations in, the
    head's input out (what FeatureExtractor gives for the same picture)."""

    def __init__(self, backbone: Backbone, first: int):
        super().__init__()
        self.blocks = nn.Sequential(*[m for b, m in backbone.stages if b >= first])
        self.model = backbone.model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_head(self.blocks(x), pre_logits=True)


class TensorRows:
    """Some rows of a tensor, gathered a batch at a time as a frozen pass slices them (no copy of them all)."""

    def __init__(self, tensor: torch.Tensor, rows: torch.Tensor):
        self.tensor, self.rows = tensor, rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, part: slice) -> torch.Tensor:
        return self.tensor[self.rows[part]]


def cached_features_after_prefix(backbone: Backbone, first: int, acts: TensorRows, views_key: str, runtime: Runtime,
                                 on_batch: Progress) -> torch.Tensor:
    """`cached_image_features` of the views whose prefix activations (`cached_prefix`) are `acts`: only the rest of
    the network runs, under the same cache name, since the numbers are the same to float rounding. A fine-tuning
    run needs both (its head is fitted on the features first): on plant_tomato (1,200 training pictures, Lite0, 2
    blocks) the whole network over their 2 views took 30 s before the prefix pass's 51 s here."""
    return cached_tensor(feature_key(backbone, views_key, runtime, "features"), lambda: run_frozen(
        FrozenRest(backbone, first), acts, runtime, key=digest(model_key(backbone), "float rest", first),
        on_batch=on_batch))


def prefix_fits_in_cache(backbone: Backbone, first: int, rows: int) -> bool:
    """Whether the prefix activations of `rows` views stay under PREFIX_CACHE_BYTES."""
    with torch.no_grad():
        x = torch.zeros(1, *backbone.preprocess.input_size)
        for b, module in backbone.stages:
            if b >= first:
                break
            x = module(x)
    return x.numel() * 4 * rows <= PREFIX_CACHE_BYTES


def prefix_pool(backbone: Backbone, first: int, examples: int, fixed: int, wanted: int) -> int:
    """How many views of each of `examples` training pictures the prefix cache holds: `wanted`, fewer where
    their activations would not fit under PREFIX_CACHE_BYTES, and the preset's own `fixed` views at least."""
    for count in range(max(fixed, wanted), fixed, -1):
        if prefix_fits_in_cache(backbone, first, count * examples):
            return count
    return fixed


def cached_text_features(backbone: Backbone, texts: list[str], tokens: Tokens, runtime: Runtime,
                         on_batch: Progress) -> torch.Tensor:
    """Pooled features of every text."""
    return cached_tensor(feature_key(backbone, digest(texts), runtime, "features"), lambda: text_features(
        backbone.model, tokens, tokens.mask.sum(1), runtime, on_batch=on_batch))


@torch.no_grad()
def text_features(model: nn.Module, tokens: Tokens, lengths: torch.Tensor, runtime: Runtime, batch_size: int = 64,
                  on_batch: Progress = lambda done, total: None) -> torch.Tensor:
    """Pooled features of every text, in batches of similar length (little padding to run through)."""
    model.eval().to(runtime.device)
    order = lengths.argsort()
    out = torch.empty(len(order), model.classifier.in_features)
    done = 0
    for chunk in order.split(batch_size):
        ids, mask = trim(tokens.ids[chunk], tokens.mask[chunk])
        with torch.inference_mode(), runtime.autocast():
            out[chunk] = model.features(ids.to(runtime.device), mask.to(runtime.device)).float().cpu()
        done += len(chunk)
        on_batch(done, len(order))
    return out
