"""What each block responds to: the patches of the person's own pictures that excite a few of its channels most.

For a sample of the pictures (`SAMPLE`, every class keeping its share, read from the decoded-picture cache
training shares), the pictures go through the network once; after each block every channel's strongest
response and where it sits are kept. A few channels per block are shown (`pick_channels`), each with the
pictures that excite it most, cropped to the block's receptive field around the strongest unit: early blocks
see a few pixels (an edge, a colour), late ones most of the picture (a leaf, an insect's body).

The receptive field is measured, not read off the architecture's name: the gradient of a block's centre unit
with respect to the input picture, on real pictures. Where that gradient is non-zero at all is the theoretical
field (EfficientNet-Lite0: 3, 7, 19, 67 and 147 pixels for the Stem and Blocks 1-4, the whole 224-pixel picture
from Block 5 on); most of it sits much closer to the centre (Luo et al. 2016, "effective receptive field"), so
the crop is the smallest square around the unit that holds `FIELD_MASS` of the gradient.

The tiles are small PNGs with a JSON index, written atomically into the run's folder (`layers/`), or, before
any run, into the workspace cache keyed by the model and the pictures.
"""
from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import torch

from ..inputs import decode_images, normalize
from ..models.layout import plain_names
from ..rundata import open_run_data
from ..transferability import stratified_sample
from ..workspace import cache_dir, digest, read_json, write_atomic, write_json
from ._blocks import block_outputs, chained, pretrained_backbone, trained_backbone
from ._feature_map import resolve

SAMPLE = 200        # pictures looked through: about 3 s for EfficientNet-Lite0 on this 2-core CPU
CHANNELS = 4        # channels shown per block
PER_CHANNEL = 6     # pictures shown per channel
TILE = 72           # pixels a side of each saved tile
FIELD_MASS = 0.9    # share of a unit's input gradient its shown field holds
INDEX = "index.json"
VERSION = 1         # bump when the index or the tiles change shape, so old cached ones are made again


def block_patches(source, folder: Path | None = None) -> dict:
    """The top patches of every block, as an index (see `_index`) whose tiles lie in `index["folder"]`.

    `source` is a run (Run, id or folder: its own trained model and data) or a RunConfig (the pretrained
    network on that data, before any run). Made once; later calls read the index back.
    """
    config, run_folder = resolve(source)
    data = open_run_data(config)
    dataset = data.dataset
    if dataset.kind != "image":
        raise ValueError("What each block sees is shown for pictures; for texts see `layer_attention`.")
    backbone = trained_backbone(run_folder) if run_folder else pretrained_backbone(
        config, len(dataset.classes), dataset.kind)
    decoded = decode_images(dataset.examples, backbone.preprocess)  # every example, as training decodes them
    ok = [i for i in range(len(dataset.examples)) if i not in decoded.failed]
    rows = [ok[i] for i in stratified_sample([dataset.examples[i].label for i in ok], SAMPLE, config.seed)]
    out = folder or (run_folder / "layers" if run_folder else
                     cache_dir("layers") / digest(backbone.name, backbone.arch, decoded.key, rows, VERSION))
    index = read_json(out / INDEX)
    if index and index.get("version") == VERSION:
        return {**index, "folder": str(out)}
    start = time.perf_counter()
    images = decoded.images[rows]
    fields = _cached_fields(backbone, images[:2])
    peaks = _peaks(backbone, images)
    titles = [b.title for b in backbone.blocks]
    blocks = []
    for b, (values, where, size) in enumerate(peaks):
        channels = []
        for c in pick_channels(values):
            top = np.argsort(-values[:, c])[:PER_CHANNEL]
            channels.append({"channel": int(c), "patches": [
                _tile(out, b, c, k, images[n], size, where[n, c], fields[b]["field"],
                      dataset.examples[rows[n]], float(values[n, c])) for k, n in enumerate(top)]})
        blocks.append({"title": titles[b], "index": b, **fields[b], "channels": channels})
    index = _index(backbone, titles, blocks, len(rows), time.perf_counter() - start)
    write_json(out / INDEX, index, durable=False)
    return {**index, "folder": str(out)}


def receptive_fields(backbone, images: torch.Tensor) -> list[dict]:
    """Per block: "field" (pixels a side holding FIELD_MASS of the centre unit's input gradient) and
    "theoretical" (pixels a side where that gradient is non-zero), from one forward and one backward pass.

    Each block gets its own copies of the pictures in one batch, and only its centre unit's gradient flows
    back into them (pictures in a batch do not mix in eval mode), so every block costs no extra pass.
    """
    stages = chained(backbone)
    n_blocks, k = len(backbone.blocks), len(images)
    x = normalize(images, backbone.preprocess).repeat(n_blocks, 1, 1, 1).requires_grad_()
    h, total = x, 0
    with torch.enable_grad():
        for i, (block, module) in enumerate(stages):
            h = module(h)
            if i + 1 == len(stages) or stages[i + 1][0] != block:
                cy, cx = h.shape[2] // 2, h.shape[3] // 2
                total = total + h[block * k:(block + 1) * k, :, cy, cx].abs().sum()
        (grad,) = torch.autograd.grad(total, x)
    side, fields = x.shape[-1], []
    for b in range(n_blocks):
        mass = grad[b * k:(b + 1) * k].abs().sum((0, 1)).double()                  # (H, W)
        fields.append({"field": min(_square_holding(mass, FIELD_MASS), side),
                       "theoretical": min(_square_holding(mass, 1.0), side)})
    return fields


def pick_channels(values: np.ndarray, count: int = CHANNELS) -> list[int]:
    """Channels whose strongest pictures stand out most from the rest (their top responses, in spreads above
    the median picture's), skipping a channel whose top pictures are mostly another chosen one's."""
    top = -np.sort(-values, axis=0)[:PER_CHANNEL]                                  # (k, C)
    median, spread = np.median(values, axis=0), values.std(axis=0) + 1e-6
    order = np.argsort(-(top.mean(0) - median) / spread)
    chosen, seen = [], []
    for c in order:
        best = set(np.argsort(-values[:, c])[:PER_CHANNEL].tolist())
        if all(len(best & other) <= PER_CHANNEL // 2 for other in seen):
            chosen.append(int(c))
            seen.append(best)
        if len(chosen) == count:
            break
    return chosen


# ---------------------------------------------------------------- internals

def _cached_fields(backbone, images: torch.Tensor) -> list[dict]:
    """The fields belong to the architecture and its input size (weights move them little): measured once
    (13 s under load here, for 16 pictures forward and back), then read back."""
    path = cache_dir("layers") / f"fields-{digest(backbone.arch, backbone.preprocess.to_dict(), FIELD_MASS)}.json"
    fields = read_json(path)
    if fields is None:
        fields = receptive_fields(backbone, images)
        write_json(path, fields, durable=False)
    return fields


def _peaks(backbone, images: torch.Tensor, batch: int = 32) -> list[tuple[np.ndarray, np.ndarray, tuple]]:
    """Per block: every picture's strongest response per channel (N, C), where it sits (N, C) as a flat index
    into the block's (h, w) grid, and that grid's size."""
    found: list[list] = []
    for start in range(0, len(images), batch):
        for b, out in enumerate(block_outputs(backbone, images[start:start + batch])):
            value, where = out.flatten(2).max(2)                                   # (B, C) each
            if b == len(found):
                found.append([[], [], tuple(out.shape[2:])])
            found[b][0].append(value.numpy())
            found[b][1].append(where.numpy())
    return [(np.concatenate(v), np.concatenate(w), size) for v, w, size in found]


def _square_holding(mass: torch.Tensor, share: float) -> int:
    """Side of the smallest square around the centre holding `share` of `mass` (non-zero mass for 1.0)."""
    h, w = mass.shape
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    distance = torch.maximum((ys - h // 2).abs(), (xs - w // 2).abs())             # (H, W): square rings
    if share >= 1.0:
        return 2 * int(distance[mass > mass.max() * 1e-7].max()) + 1
    ring = torch.zeros(int(distance.max()) + 1, dtype=mass.dtype).index_add_(0, distance.flatten(), mass.flatten())
    reach = int(torch.searchsorted(ring.cumsum(0), share * ring.sum()))
    return 2 * reach + 1


def _tile(out: Path, block: int, channel: int, rank: int, image: torch.Tensor, grid: tuple, where: int,
          field: int, example, activation: float) -> dict:
    """Crop the field around the unit (moved inside the picture at its edges), save it as a PNG tile."""
    from PIL import Image

    height, width = image.shape[1:]
    gy, gx = divmod(int(where), grid[1])
    cy, cx = (gy + 0.5) * height / grid[0], (gx + 0.5) * width / grid[1]
    side = min(field, height, width)
    y0 = int(np.clip(round(cy - side / 2), 0, height - side))
    x0 = int(np.clip(round(cx - side / 2), 0, width - side))
    crop = Image.fromarray(image[:, y0:y0 + side, x0:x0 + side].permute(1, 2, 0).numpy())
    crop = crop.resize((TILE, TILE), Image.Resampling.NEAREST if side < TILE else Image.Resampling.LANCZOS)
    name = f"b{block}_c{channel}_{rank}.png"
    buffer = io.BytesIO()
    crop.save(buffer, format="PNG")
    write_atomic(out / name, buffer.getvalue(), durable=False)
    return {"file": name, "example": example.name, "label": example.label, "box": [x0, y0, x0 + side, y0 + side],
            "activation": activation}


def _index(backbone, titles: list[str], blocks: list[dict], pictures: int, seconds: float) -> dict:
    names = plain_names(titles, backbone.kind)
    return {"version": VERSION, "model": backbone.name, "arch": backbone.arch, "kind": backbone.kind,
            "pictures": pictures, "seconds": round(seconds, 2), "input_size": list(backbone.preprocess.input_size),
            "blocks": [{**block, "name": name} for block, name in zip(blocks, names)]}
