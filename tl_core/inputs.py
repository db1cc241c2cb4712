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

import numpy as np
import torch
from torchvision.transforms import v2

from .config import AUGMENTATIONS
from .data import DataError, Example, read_image
from .workspace import cache_dir, digest, load_tensors, save_tensors


@dataclass
class Decoded:
    images: torch.Tensor      # (N, 3, H, W) uint8, the model's eval view of each example
    failed: dict[int, str]    # example index -> why it could not be decoded
    key: str                  # names these files and this preprocessing in caches built on top


def eval_geometry(data_config: dict):
    """timm's own eval transform without its ToTensor/Normalize steps: resize and crop, as the model expects."""
    from timm.data import create_transform

    steps = create_transform(**data_config, is_training=False).transforms
    return v2.Compose([s for s in steps if not any(k in type(s).__name__ for k in ("ToTensor", "Normalize"))])


def decode_images(examples: list[Example], data_config: dict, use_cache: bool = True) -> Decoded:
    key = digest([_identity(e) for e in examples], data_config)
    path = cache_dir("decoded") / f"{key}.safetensors"
    if use_cache and path.exists():
        stored = load_tensors(path)
        failed = {int(i): "could not be read" for i in torch.nonzero(stored["failed"]).flatten().tolist()}
        return Decoded(stored["images"], failed, key)
    geometry = eval_geometry(data_config)
    size = data_config["input_size"][1:]
    draft = int(max(size) / data_config.get("crop_pct", 1.0))

    def one(example: Example) -> np.ndarray | str:
        try:
            image = read_image(example.path if example.path is not None else example.data, draft_size=draft)
        except DataError as err:
            return str(err)
        return np.array(geometry(image), dtype=np.uint8)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # PIL decodes without the GIL
        results = list(pool.map(one, examples))
    images = torch.zeros((len(examples), 3, *size), dtype=torch.uint8)
    failed = {}
    for i, result in enumerate(results):
        if isinstance(result, str):
            failed[i] = result
        else:
            images[i] = torch.from_numpy(result).permute(2, 0, 1)  # result is a fresh array
    if use_cache:
        mask = torch.zeros(len(examples), dtype=torch.uint8)
        mask[list(failed)] = 1
        save_tensors(path, {"images": images, "failed": mask})
    return Decoded(images, failed, key)


def normalize(images: torch.Tensor, data_config: dict) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float32, normalised with the model's own mean/std, channels_last for CPU speed."""
    mean = torch.tensor(data_config["mean"], device=images.device).view(1, 3, 1, 1) * 255
    std = torch.tensor(data_config["std"], device=images.device).view(1, 3, 1, 1) * 255
    return ((images.float() - mean) / std).contiguous(memory_format=torch.channels_last)


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


def views(images: torch.Tensor, preset: str, seed: int) -> torch.Tensor:
    """A few fixed augmented copies per image, for paths that run the frozen part once and cache it.

    none: the image; light: + its mirror; strong: + its mirror + two random augmentations.
    Returned view-major: (V * N, 3, H, W), view v of image i at v * N + i.
    """
    out = [images]
    if preset in ("light", "strong"):
        out.append(images.flip(-1))
    if preset == "strong":
        torch.manual_seed(seed)
        aug = augmenter("strong", tuple(images.shape[-2:]))
        out += [torch.stack([aug(img) for img in images]) for _ in range(2)]
    return torch.cat(out)


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


