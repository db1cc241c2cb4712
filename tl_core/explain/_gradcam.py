"""Grad-CAM: where in a picture the evidence for a class sits (Selvaraju et al. 2017).

The network's last feature map still knows *where* things are, and the gradient of one class's
score with respect to it says how much each channel matters for that class. Weighting the channels
by their mean gradient, summing, and keeping the positive part gives a coarse map (7x7 for
EfficientNet-Lite0) that is scaled up to the picture the model saw.

CNNs give that map from `forward_features` directly. Vision transformers give tokens: their patch
tokens are laid out on the patch grid again, and for models that classify from the class token
the map is taken at the input of the last attention (the usual choice), because after it the patch
tokens no longer reach the head at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..inputs import normalize
from ._source import Source, Subject, subject


class Cam(NamedTuple):
    heatmap: np.ndarray   # (H, W) float32 in [0, 1] at the model's input size; 1 = strongest evidence
    predicted: int        # index of the class the model predicts for this picture
    probs: np.ndarray     # (C,) class probabilities


def gradcam(source: Source, image, target_class: int | str | None = None) -> Cam:
    """Heat map of the evidence for `target_class` (default: the predicted class) in one picture.

    `image` is a path, bytes, a PIL image, or a uint8 (3, H, W) tensor already at the model's size;
    files are decoded and cropped exactly as for training, so the map lines up with what the model saw.
    """
    s = subject(source)
    maps, probs = _cams(s, _one_image(s, image), [target_class])
    return Cam(maps[0], int(probs.argmax()), probs)


@dataclass
class ImageExplanation:
    """Everything an "Why this prediction?" panel shows for one picture."""

    image: torch.Tensor            # (3, H, W) uint8: the picture as the model saw it (resized, cropped)
    classes: list[str]
    probs: np.ndarray              # (C,) class probabilities
    predicted: str
    true: str | None               # the label the picture carries, when known
    maps: dict[str, np.ndarray]    # "predicted" and, when a true label is given, "true"

    @property
    def correct(self) -> bool | None:
        return None if self.true is None else self.true == self.predicted

    def overlays(self) -> dict[str, "PIL.Image.Image"]:
        return {name: overlay(self.image, heat) for name, heat in self.maps.items()}


def explain_image(source: Source, image, true_class: int | str | None = None) -> ImageExplanation:
    """Maps for the predicted class and (if given) the true class, from one forward pass."""
    s = subject(source)
    batch = _one_image(s, image)
    targets = [None] if true_class is None else [None, true_class]
    maps, probs = _cams(s, batch, targets)
    true = None if true_class is None else s.classes[s.class_index(true_class, 0)]
    named = {"predicted": maps[0], **({"true": maps[1]} if true is not None else {})}
    return ImageExplanation(batch[0], s.classes, probs, s.classes[int(probs.argmax())], true, named)


# ---------------------------------------------------------------- drawing

# A dark-to-bright colour ramp in the spirit of matplotlib's "inferno" (black, purple, red, orange,
# pale yellow): brightness rises with the value, so it also reads in greyscale and for most colour-blind people.
_RAMP = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], dtype=np.float32)


def colormap(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1], any shape -> uint8 RGB of shape (..., 3)."""
    v = np.clip(np.asarray(values, dtype=np.float32), 0.0, 1.0) * (len(_RAMP) - 1)
    low = np.minimum(v.astype(np.int64), len(_RAMP) - 2)
    t = (v - low)[..., None]
    return np.round(_RAMP[low] * (1 - t) + _RAMP[low + 1] * t).astype(np.uint8)


DIM = 0.25  # brightness left where the model found nothing: ignored areas go dark, so the evidence stands out


def overlay(image_uint8_chw, heatmap: np.ndarray, alpha: float = 0.45) -> "PIL.Image.Image":
    """The picture lit where the evidence is: each pixel keeps DIM + (1 - DIM) * heat of its brightness and
    takes `alpha` of the ramp's colour for its heat, so strong evidence shows pale yellow over the picture
    and ignored areas dark purple to black.

    Measured on the ants/bees photos: the earlier overlay (only the ramp, with opacity growing with the heat)
    left ignored areas as bright as the photo and the evidence a faint orange glow on light backgrounds;
    dimming gives every map the same dark-to-bright reading, whatever the photo's own brightness.
    """
    from PIL import Image

    image = np.asarray(image_uint8_chw.cpu() if isinstance(image_uint8_chw, torch.Tensor) else image_uint8_chw)
    image = image.transpose(1, 2, 0).astype(np.float32)                                 # (H, W, 3)
    heat = np.asarray(heatmap, dtype=np.float32)
    if heat.shape != image.shape[:2]:
        heat = np.asarray(Image.fromarray(heat).resize(image.shape[1::-1], Image.Resampling.BILINEAR))
    heat = np.clip(heat, 0.0, 1.0)
    lit = image * (DIM + (1 - DIM) * heat)[..., None]                                  # (H, W, 3)
    blended = lit * (1 - alpha) + colormap(heat).astype(np.float32) * alpha
    return Image.fromarray(np.round(blended).astype(np.uint8))


# ---------------------------------------------------------------- the computation

def _one_image(s: Subject, image) -> torch.Tensor:
    if s.kind != "image":
        raise ValueError("Grad-CAM explains pictures; for a text model use token_importance.")
    batch = s.image_batch(image if isinstance(image, torch.Tensor) else [image])
    return batch[:1]


def _cams(s: Subject, images: torch.Tensor, targets: list[int | str | None]) -> tuple[list[np.ndarray], np.ndarray]:
    """One forward, one backward per target class; maps at the input size."""
    model = s.backbone.model.eval()
    x = normalize(images, s.backbone.preprocess).to(s.device)
    with torch.enable_grad():
        acts, logits, to_grid = _activations(model, x)
        probs = logits.detach().float().softmax(1)[0]
        predicted = int(probs.argmax())
        maps = []
        for target in targets:
            index = s.class_index(target, predicted)
            (grad,) = torch.autograd.grad(logits[0, index], acts, retain_graph=True)
            a, g = to_grid(acts.detach()), to_grid(grad)                    # (1, C, h, w) each
            weights = g.mean((2, 3), keepdim=True)                          # (1, C, 1, 1): how much each channel counts
            cam = F.relu((weights * a).sum(1, keepdim=True)).float()        # (1, 1, h, w)
            cam = F.interpolate(cam, size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)[0, 0]
            peak = cam.max()
            maps.append((cam / peak if peak > 0 else torch.zeros_like(cam)).cpu().numpy().astype(np.float32))
    return maps, probs.cpu().numpy()


Grid = Callable[[torch.Tensor], torch.Tensor]


def _activations(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, Grid]:
    """(activations that require grad, logits computed from them, activations -> (B, C, h, w))."""
    with torch.no_grad():
        feats = model.forward_features(x)
    if feats.dim() == 4:
        feats = feats.detach().requires_grad_()
        logits = model.forward_head(feats)
        channels = getattr(model, "num_features", feats.shape[1])
        if feats.shape[1] != channels and feats.shape[-1] == channels:   # NHWC (Swin-style) feature maps
            return feats, logits, lambda t: t.permute(0, 3, 1, 2)
        return feats, logits, lambda t: t
    if feats.dim() != 3:
        raise ValueError(f"Grad-CAM needs a spatial feature map, but {type(model).__name__} gives features of shape "
                         f"{tuple(feats.shape)}. Pick a convolutional model (e.g. EfficientNet) to see heat maps.")
    layer = _class_token_layer(model)
    if layer is None:  # patch tokens reach the head (average pooling): use the final tokens
        tokens = feats.detach().requires_grad_()
        logits = model.forward_head(tokens)
    else:
        tokens, logits = _hooked(model, layer, x)
    return tokens, logits, _token_grid(model, tokens.shape[1])


def _class_token_layer(model: nn.Module) -> nn.Module | None:
    """For class-token models, the module whose output feeds the last attention (None for pooled tokens)."""
    if getattr(model, "global_pool", "") not in ("token", "map"):
        return None
    blocks = getattr(model, "blocks", None)
    layer = getattr(blocks[-1], "norm1", None) if blocks is not None and len(blocks) else None
    if layer is None:
        raise ValueError(f"{type(model).__name__} classifies from a class token and has no last attention block "
                         "TransferLab can find, so it cannot draw a heat map. Pick a convolutional model instead.")
    return layer


def _hooked(model: nn.Module, layer: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the model, replacing `layer`'s output with a leaf tensor so its gradient can be taken."""
    captured: dict[str, torch.Tensor] = {}

    def hook(module, inputs, output):
        captured["a"] = output.detach().requires_grad_()
        return captured["a"]

    handle = layer.register_forward_hook(hook)
    try:
        logits = model(x)
    finally:
        handle.remove()
    return captured["a"], logits


def _token_grid(model: nn.Module, n_tokens: int) -> Grid:
    prefix = int(getattr(model, "num_prefix_tokens", 0))
    patches = n_tokens - prefix
    grid = getattr(getattr(model, "patch_embed", None), "grid_size", None)
    if grid is None or grid[0] * grid[1] != patches:
        side = int(round(patches ** 0.5))
        if side * side != patches:
            raise ValueError(f"{type(model).__name__} gives {n_tokens} tokens that do not form a square grid of "
                             "patches, so they cannot be drawn as a heat map. Pick a convolutional model instead.")
        grid = (side, side)
    h, w = int(grid[0]), int(grid[1])
    return lambda t: t[:, prefix:].reshape(t.shape[0], h, w, t.shape[-1]).permute(0, 3, 1, 2)
