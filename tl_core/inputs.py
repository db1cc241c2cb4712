"""Examples -> tensors, once: decoded images as uint8, texts as token ids.

Decoding JPEGs is a large share of a small run, so each dataset is decoded once and kept in the
workspace cache; a second run on the same files (another N, another learning rate) reads it back.
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from torchvision.transforms import v2

from .config import AUGMENTATIONS
from .data import DataError, Example, read_image
from .models.preprocessing import Preprocessing
from .workspace import cache_dir, digest, read_json, touch_cache, write_json


@dataclass
class Decoded:
    images: torch.Tensor      # (N, 3, H, W) uint8, the model's eval view of each example (memory-mapped when cached)
    failed: dict[int, str]    # example index -> why it could not be decoded
    key: str                  # names these files and this preprocessing in caches built on top


def eval_geometry(preprocessing: Preprocessing):
    """timm's own eval transform without its ToTensor/Normalize steps: resize and crop, as the model expects."""
    from timm.data import create_transform

    steps = create_transform(**preprocessing.to_dict(), is_training=False).transforms
    return v2.Compose([s for s in steps if not any(k in type(s).__name__ for k in ("ToTensor", "Normalize"))])


def decode_images(examples: list[Example], preprocessing: Preprocessing, use_cache: bool = True,
                  on_done: Callable[[int, int], None] = lambda done, total: None) -> Decoded:
    """Decode every example once. Cached, the pixels live in a memory-mapped file the threads write into
    directly: 20 000 pictures (3 GB at 224 px) never need a copy in this process's own memory, and the
    operating system keeps what fits in RAM."""
    key = digest([_identity(e) for e in examples], preprocessing.to_dict())
    path = cache_dir("decoded") / f"{key}.npy"
    if use_cache and (cached := _read_decoded(path)) is not None:
        return Decoded(*cached, key)
    geometry = eval_geometry(preprocessing)
    shape = (len(examples), 3, *preprocessing.input_size[1:])
    tmp = path.with_name(f".{os.getpid()}.{path.name}")
    pixels = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape) if use_cache \
        else np.zeros(shape, dtype=np.uint8)

    def one(i: int) -> str | None:
        example = examples[i]
        try:
            image = read_image(example.path if example.path is not None else example.data,
                               draft_size=preprocessing.draft_size)
        except DataError as err:
            return str(err)
        pixels[i] = np.asarray(geometry(image), dtype=np.uint8).transpose(2, 0, 1)
        return None

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # PIL decodes without the GIL
        failed = {}
        for i, why in enumerate(pool.map(one, range(len(examples)))):
            if why is not None:
                failed[i] = why
            if (i + 1) % 64 == 0 or i + 1 == len(examples):
                on_done(i + 1, len(examples))
    if not use_cache:
        return Decoded(torch.from_numpy(pixels), failed, key)
    pixels.flush()
    del pixels
    write_json(path.with_suffix(".failed.json"), failed, durable=False)
    os.replace(tmp, path)  # last: a complete .npy is the sign the cache entry is whole
    return Decoded(*_read_decoded(path), key)


def _read_decoded(path: Path) -> tuple[torch.Tensor, dict[int, str]] | None:
    failed = read_json(path.with_suffix(".failed.json"))
    if failed is None or not path.exists():
        return None
    touch_cache(path)
    try:
        pixels = np.load(path, mmap_mode="c")  # copy-on-write: a tensor over it is writable, the file never changes
    except (OSError, ValueError):  # a damaged cache entry is decoded again
        return None
    return torch.from_numpy(pixels), {int(i): why for i, why in failed.items()}


def normalize(images: torch.Tensor, preprocessing: Preprocessing) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float32, normalised with the model's own mean/std, channels_last for CPU speed."""
    mean = torch.tensor(preprocessing.mean, device=images.device).view(1, 3, 1, 1) * 255
    std = torch.tensor(preprocessing.std, device=images.device).view(1, 3, 1, 1) * 255
    return ((images.float() - mean) / std).contiguous(memory_format=torch.channels_last)


class Normalized(nn.Module):
    """`module` fed uint8 images: normalising inside it lets ONNX Runtime take uint8 (4x less to copy)
    and fuse the arithmetic into its first convolution, instead of torch doing it beforehand."""

    def __init__(self, module: nn.Module, preprocessing: Preprocessing):
        super().__init__()
        self.module = module
        self.preprocessing = preprocessing

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.module(normalize(images, self.preprocessing))


def augmenter(preset: str, size: tuple[int, int]):
    """Per-image random augmentation on uint8 tensors (torchvision v2), or None for 'none'."""
    if preset == "none":
        return None
    if preset == "light":
        return v2.Compose([v2.RandomResizedCrop(size, scale=(0.7, 1.0), antialias=True), v2.RandomHorizontalFlip()])
    if preset == "strong":
        return v2.Compose([v2.RandomResizedCrop(size, scale=(0.35, 1.0), antialias=True), v2.RandomHorizontalFlip(),
                           v2.ColorJitter(0.3, 0.3, 0.3), v2.RandAugment(num_ops=2, magnitude=7)])
    raise DataError(f"Unknown augmentation '{preset}'. Choose one of: {', '.join(AUGMENTATIONS)}.")


VIEWS = {"none": 1, "light": 2, "strong": 4}


class Views:
    """What a frozen pass runs over: each training example in a few fixed views, then the validation
    examples as they are. Batches are cut from the decoded images when asked, so no augmented copy of
    the dataset is ever held in memory.

    none: the image; light: + its mirror; strong: + its mirror + two random augmentations (seeded, so
    the same run config gives the same views). `count` asks for another number of views (a pool to draw
    from, see `tasks.pool_size`): views from the third on are the preset's random augmentation. Training
    rows are view-major: view v of example i is row v * len(train) + i; validation rows follow.
    """

    def __init__(self, images: torch.Tensor, train: list[int], val: list[int], preset: str, seed: int,
                 count: int | None = None):
        self.images, self.count, self.preset, self.seed = images, count or VIEWS[preset], preset, seed
        self.train, self.val = torch.as_tensor(train, dtype=torch.long), torch.as_tensor(val, dtype=torch.long)
        self.augment = augmenter(preset, tuple(images.shape[-2:])) if self.count > 2 else None

    def __len__(self) -> int:
        return self.count * len(self.train) + len(self.val)

    def __getitem__(self, rows: slice) -> torch.Tensor:
        rows = torch.arange(len(self))[rows]  # ascending: training rows, then validation rows
        split = self.count * len(self.train)
        train_rows, val_rows = rows[rows < split], rows[rows >= split]
        batch = self.images[torch.cat([self.train[train_rows % max(len(self.train), 1)], self.val[val_rows - split]])]
        view = torch.cat([train_rows // max(len(self.train), 1), torch.zeros_like(val_rows)])
        batch[view == 1] = batch[view == 1].flip(-1)
        with torch.random.fork_rng(devices=[]):  # seeded augmentations leave the caller's random state alone
            for k in torch.nonzero(view >= 2).flatten().tolist():
                # the CPU's generator only: torch.manual_seed also formats its call stack for a later CUDA
                # seeding, 1.2 s over plant_tomato's 2,400 augmented views (profiled)
                torch.default_generator.manual_seed(self.seed * 1_000_003 + int(rows[k]))
                batch[k] = self.augment(batch[k])
        return batch


def apply_augment(batch: torch.Tensor, aug) -> torch.Tensor:
    return batch if aug is None else torch.stack([aug(img) for img in batch])


@dataclass
class Tokens:
    ids: torch.Tensor    # (N, T) int64, padded
    mask: torch.Tensor   # (N, T) int64, 1 on real tokens


def tokenize(texts: list[str], tokenizer, max_length: int) -> Tokens:
    enc = tokenizer(texts, padding="longest", truncation=True, max_length=max_length, return_tensors="pt")
    return Tokens(enc["input_ids"], enc["attention_mask"])


def trim(ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop the padding columns no text in this batch needs (batches of similar length are short)."""
    length = int(mask.sum(1).max())
    return ids[:, :length], mask[:, :length]


def _identity(example: Example) -> object:
    if example.path is not None:
        stat = Path(example.path).stat()
        return str(example.path), stat.st_size, stat.st_mtime_ns
    return hashlib.sha1(example.data if example.data is not None else example.text.encode()).hexdigest()


