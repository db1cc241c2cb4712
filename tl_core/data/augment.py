"""Training-time augmentation presets, named for people rather than by their many timm parameters.

timm and torch are imported inside the function: importing this package must stay fast for the CLI.
"""

from __future__ import annotations

from typing import Any, Callable

from .examples import DataError

AUGMENTATIONS = ("none", "light", "strong")
_PRESETS: dict[str, dict[str, Any]] = {
    # Crops that keep most of the subject, mirror images; colours untouched (they can define a class).
    "light": dict(scale=(0.7, 1.0), hflip=0.5, color_jitter=None),
    # For small datasets: tighter crops, colour changes and RandAugment's random photo edits.
    "strong": dict(scale=(0.35, 1.0), hflip=0.5, color_jitter=0.3, force_color_jitter=True,
                   auto_augment="rand-m7-mstd0.5"),
}


def train_transform(preset: str, data_config: dict) -> Callable:
    """A PIL-image -> normalised float tensor transform for training, sized by the model's data_config.

    "none" is the model's own evaluation transform. The others use timm's training pipeline; it is
    called directly rather than through `create_transform` because only there can colour jitter be
    kept alongside RandAugment (timm drops it otherwise).
    """
    if preset not in AUGMENTATIONS:
        raise DataError(f"Unknown augmentation '{preset}'; choose one of: {', '.join(AUGMENTATIONS)}.")
    from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, create_transform
    from timm.data.transforms_factory import transforms_imagenet_train

    if preset == "none":
        return create_transform(**data_config, is_training=False)
    size = data_config.get("input_size", (3, 224, 224))
    return transforms_imagenet_train(
        img_size=tuple(size[-2:]) if isinstance(size, (tuple, list)) else size,
        interpolation=data_config.get("interpolation", "bilinear"),
        mean=data_config.get("mean", IMAGENET_DEFAULT_MEAN),
        std=data_config.get("std", IMAGENET_DEFAULT_STD),
        **_PRESETS[preset],
    )
