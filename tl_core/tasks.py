"""What the training loop trains, and on which inputs: the plan turned into tensors and a forward.

Three paths, fastest first; each gives the same model a plain full forward would (tests check it):
- head only: the frozen network runs once over every image (and a mirrored copy) and only the new
  head trains on the cached features;
- the last N blocks: the frozen prefix runs once, its activations are cached, only the suffix trains;
- everything (or a model whose forward is not a simple chain): the whole network on augmented images.
Pretrained runs that train more than the head first fit the head on frozen features ("linear probe,
then fine-tune", Kumar et al. 2022), so fine-tuning starts from a sensible head and does not wreck
the pretrained blocks while the head is still random. (Head-only runs start from a zero-mean random
head instead: starting them from the probe's near-zero training loss left AdamW nothing to improve
and cost 1-2 points of validation accuracy here.)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from torch import nn

from . import events
from .checkpoint import save_model
from .config import RunConfig
from .data import Dataset
from .device import Runtime
from .freeze import Plan
from .inputs import Normalized, Views, augmenter, apply_augment, decode_images, normalize, tokenize, trim
from .models.backbone import Backbone
from .models.catalog import weights_identity
from .runtime import run_frozen
from .workspace import cache_dir, digest, load_tensors, save_tensors, touch_cache

PREFIX_CACHE_BYTES = 4 * 1024**3   # beyond this, the prefix runs every step instead of being cached
BODY_LR_RATIO = 0.1                # pretrained blocks learn 10x slower than the new head

# (epochs, head learning rate, batch size) when the user leaves them at 0 ("automatic"). Fine-tuning
# MiniLM in batches of 16 rather than 32 gained 0.5-2.5 points on yelp over three seeds.
DEFAULTS = {
    ("image", "head"): (20, 1e-3, 32), ("image", "blocks"): (6, 1e-3, 32), ("image", "scratch"): (10, 1e-3, 32),
    ("text", "head"): (30, 3e-3, 32), ("text", "blocks"): (3, 5e-4, 16), ("text", "scratch"): (6, 5e-4, 16),
}


@dataclass
class Task:
    module: nn.Module                               # holds every trainable parameter
    forward: Callable[[tuple, bool], torch.Tensor]  # (inputs, training) -> logits
    train_inputs: tuple[torch.Tensor, ...]
    train_labels: torch.Tensor
    val_inputs: tuple[torch.Tensor, ...]
    val_labels: torch.Tensor
    val_names: list[str]
    classes: list[str]
    head: nn.Module
    epochs: int
    lr: float
    batch_size: int
    weight_decay: float
    frozen_batchnorm: bool
    save: Callable[[Path], None]
    plan: Plan
    path: str                                       # "cached features" | "cached prefix" | "full network"
    lengths: torch.Tensor | None = None             # text: tokens per example, for length-sorted batches
    lightweight: bool = False                       # only a linear head on cached features trains
    info: dict = field(default_factory=dict)

    @property
    def train_size(self) -> int:
        return len(self.train_labels)

    def describe(self) -> dict:
        """For the `started` event; `info` may say how many distinct examples the training views came from."""
        return {"trainable_params": self.plan.trainable, "total_params": self.plan.total,
                "unfreeze": self.plan.unfreeze, "from_scratch": self.plan.from_scratch, "path": self.path,
                "train_examples": self.train_size, "val_examples": len(self.val_labels), "classes": self.classes,
                **self.info}

    def param_groups(self) -> list[dict]:
        head_ids = {id(p) for p in self.head.parameters()}
        trainable = [p for p in self.module.parameters() if p.requires_grad]
        body = [p for p in trainable if id(p) not in head_ids]
        body_lr = self.lr if self.plan.from_scratch else self.lr * BODY_LR_RATIO
        groups = [{"params": [p for p in trainable if id(p) in head_ids], "lr": self.lr}]
        return groups + ([{"params": body, "lr": body_lr}] if body else [])

    def train_batches(self, batch_size: int, generator: torch.Generator):
        order = torch.randperm(self.train_size, generator=generator)
        if self.lengths is not None:  # similar lengths together, so batches carry little padding
            chunks = order.split(batch_size * 20)
            order = torch.cat([c[self.lengths[c].argsort()] for c in chunks])
        batches = list(order.split(batch_size))
        for i in torch.randperm(len(batches), generator=generator).tolist():
            yield batches[i]

    def to_device(self, index: torch.Tensor, device: torch.device) -> tuple[tuple, torch.Tensor]:
        return tuple(t[index].to(device) for t in self.train_inputs), self.train_labels[index].to(device)

    @torch.no_grad()
    def validate(self, runtime: Runtime, batch_size: int = 128) -> tuple[float, float, torch.Tensor]:
        self.module.eval()
        logits = []
        for start in range(0, len(self.val_labels), batch_size):
            inputs = tuple(t[start:start + batch_size].to(runtime.device) for t in self.val_inputs)
            with runtime.autocast():
                logits.append(self.forward(inputs, False).float().cpu())
        logits = torch.cat(logits)
        loss = F.cross_entropy(logits, self.val_labels).item()
        probs = logits.softmax(1)
        return loss, float((probs.argmax(1) == self.val_labels).float().mean()), probs


def build_task(config: RunConfig, dataset: Dataset, train_idx: list[int], val_idx: list[int], backbone: Backbone,
               plan: Plan, runtime: Runtime, on_event: events.EventSink) -> Task:
    mode = "scratch" if plan.from_scratch else ("head" if plan.head_only else "blocks")
    epochs, lr, batch_size = DEFAULTS[(dataset.kind, mode)]
    settings = dict(epochs=config.epochs or epochs, lr=config.lr or lr, batch_size=config.batch_size or batch_size,
                    plan=plan, classes=dataset.classes,
                    save=lambda folder: save_model(backbone, dataset.classes, folder, config))
    build = _image_task if dataset.kind == "image" else _text_task
    return build(config, dataset, train_idx, val_idx, backbone, plan, runtime, on_event, settings)


# ---------------------------------------------------------------- images

def _image_task(config, dataset, train_idx, val_idx, backbone, plan, runtime, on_event, settings) -> Task:
    data_config = backbone.preprocess
    reading = _reporter(on_event, f"Reading {len(dataset.examples)} pictures")
    reading(0, len(dataset.examples))
    decoded = decode_images(dataset.examples, data_config, on_done=reading)
    if decoded.failed:
        left_out = "; ".join(f"{dataset.examples[i].name} ({why})" for i, why in list(decoded.failed.items())[:10])
        on_event(events.make(events.NOTE, text=f"{len(decoded.failed)} image(s) could not be read and were left "
                                               f"out: {left_out}"))
    train_idx = [i for i in train_idx if i not in decoded.failed]
    val_idx = [i for i in val_idx if i not in decoded.failed]
    labels = torch.tensor([dataset.classes.index(e.label) for e in dataset.examples])
    frozen_inputs = Views(decoded.images, train_idx, val_idx, config.augment, config.seed)
    n_views = frozen_inputs.count
    common = dict(val_labels=labels[val_idx], val_names=[dataset.examples[i].name for i in val_idx],
                  head=backbone.head, **settings)
    cached_views = {"train_examples": len(train_idx), "views_per_example": n_views}
    progress = _reporter(on_event, "The pretrained network looks at every picture once")
    model = backbone.model
    model_key = digest(backbone.name, backbone.arch, weights_identity(backbone.name))
    source_key = digest(decoded.key, model_key, runtime.label)  # bfloat16 features are not float32 features

    train_labels = labels[train_idx].repeat(n_views)
    views_key = digest(source_key, train_idx, val_idx, config.augment, config.seed, "views v2")

    def pooled_features() -> tuple[torch.Tensor, torch.Tensor]:
        """Frozen pretrained features of the training views and of val, cached across runs."""
        feats = cached_tensor(digest(views_key, "features"), lambda: run_frozen(
            Normalized(FeatureExtractor(backbone), data_config), frozen_inputs, runtime,
            key=digest(model_key, "uint8 features"), on_batch=progress))
        return feats[:len(train_labels)], feats[len(train_labels):]

    if plan.head_only:
        train_feats, val_feats = pooled_features()
        return Task(module=backbone.head, forward=lambda x, training: backbone.head(x[0]),
                    train_inputs=(train_feats,), train_labels=train_labels, val_inputs=(val_feats,),
                    weight_decay=1e-4, frozen_batchnorm=True, path="cached features", info=cached_views,
                    lightweight=True, **common)

    head_fit = {}
    if not plan.from_scratch:
        train_feats, val_feats = pooled_features()
        head_fit = fit_head_first(backbone.head, (train_feats, train_labels), (val_feats, labels[val_idx]))

    first = plan.first_trainable
    if not plan.from_scratch and backbone.stages and first > 0 and _fits(backbone, first, len(train_labels)):
        prefix = nn.Sequential(*[m for b, m in backbone.stages if b < first])
        suffix = _Suffix(nn.Sequential(*[m for b, m in backbone.stages if b >= first]), model)
        acts = cached_tensor(digest(views_key, "prefix", first), lambda: run_frozen(
            Normalized(prefix, data_config), frozen_inputs, runtime, key=digest(model_key, "uint8 prefix", first),
            on_batch=progress))
        return Task(module=suffix, forward=lambda x, training: suffix(x[0]),
                    train_inputs=(acts[:len(train_labels)],), train_labels=train_labels,
                    val_inputs=(acts[len(train_labels):],), weight_decay=0.01, frozen_batchnorm=True,
                    path="cached prefix", info={**cached_views, **head_fit}, **common)

    train_images, val_images = decoded.images[train_idx], decoded.images[val_idx]
    aug = augmenter(config.augment, tuple(train_images.shape[-2:]))

    def forward(x: tuple, training: bool) -> torch.Tensor:
        images = apply_augment(x[0], aug) if training else x[0]
        return model(normalize(images, data_config))

    return Task(module=model, forward=forward, train_inputs=(train_images,), train_labels=labels[train_idx],
                val_inputs=(val_images,), weight_decay=0.01, frozen_batchnorm=not plan.from_scratch,
                path="full network", info=head_fit, **common)


class FeatureExtractor(nn.Module):
    """The backbone up to the head's input, as one module an exporter can trace."""

    def __init__(self, backbone: Backbone):
        super().__init__()
        self.model = backbone.model
        self.fn = backbone.features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


class _Suffix(nn.Module):
    """The trainable end of a network: the unfrozen blocks, then the model's own head."""

    def __init__(self, blocks: nn.Sequential, model: nn.Module):
        super().__init__()
        self.blocks = blocks
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_head(self.blocks(x))


def _fits(backbone: Backbone, first: int, n: int) -> bool:
    size = backbone.preprocess["input_size"]
    with torch.no_grad():
        x = torch.zeros(1, *size)
        for b, module in backbone.stages:
            if b >= first:
                break
            x = module(x)
    return x.numel() * 4 * n <= PREFIX_CACHE_BYTES


# ---------------------------------------------------------------- texts

def _text_task(config, dataset, train_idx, val_idx, backbone, plan, runtime, on_event, settings) -> Task:
    model = backbone.model
    texts = [e.text for e in dataset.examples]
    tokens = tokenize(texts, backbone.tokenizer, backbone.preprocess["max_length"])
    labels = torch.tensor([dataset.classes.index(e.label) for e in dataset.examples])
    lengths = tokens.mask.sum(1)
    common = dict(val_labels=labels[val_idx], val_names=[texts[i][:200] for i in val_idx], head=backbone.head,
                  train_labels=labels[train_idx], **settings)

    def pooled_features() -> torch.Tensor:
        key = digest(digest(texts), backbone.name, backbone.arch, weights_identity(backbone.name), backbone.preprocess,
                     runtime.label, "text-features")
        progress = _reporter(on_event, "The pretrained network reads every text once")
        return cached_tensor(key, lambda: text_features(model, tokens, lengths, runtime, on_batch=progress))

    if plan.head_only:
        feats = pooled_features()
        return Task(module=backbone.head, forward=lambda x, training: backbone.head(x[0]),
                    train_inputs=(feats[train_idx],), val_inputs=(feats[val_idx],), weight_decay=1e-4,
                    frozen_batchnorm=True, path="cached features", lightweight=True, **common)
    head_fit = {}
    if not plan.from_scratch:
        feats = pooled_features()
        head_fit = fit_head_first(backbone.head, (feats[train_idx], labels[train_idx]),
                                  (feats[val_idx], labels[val_idx]))

    def forward(x: tuple, training: bool) -> torch.Tensor:
        return model(*trim(x[0], x[1]))

    return Task(module=model, forward=forward, train_inputs=(tokens.ids[train_idx], tokens.mask[train_idx]),
                val_inputs=(tokens.ids[val_idx], tokens.mask[val_idx]), weight_decay=0.01, frozen_batchnorm=True,
                path="full network", lengths=lengths[train_idx], info=head_fit, **common)


@torch.no_grad()
def text_features(model, tokens, lengths: torch.Tensor, runtime: Runtime, batch_size: int = 64,
                  on_batch: Callable[[int, int], None] = lambda done, total: None) -> torch.Tensor:
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


# ---------------------------------------------------------------- shared

def _reporter(on_event: events.EventSink, text: str) -> Callable[[int, int], None]:
    return lambda done, total: on_event(events.make(events.PREPARING, text=text, done=done, total=total))


def fit_head_first(head: nn.Linear, train: tuple[torch.Tensor, torch.Tensor],
                   val: tuple[torch.Tensor, torch.Tensor]) -> dict:
    """The linear probe before fine-tuning, and how the fitted head then scores (features, labels each).

    Returned as the `started` event's `head_fit`: fine-tuning's training loss starts from this one, which
    is near zero once the head has memorised the frozen features (0.015 against a validation loss of
    1.07 with 2 blocks unfrozen), so the loss chart marks this phase rather than leave the flat start unexplained.
    """
    linear_probe(head, *train)
    with torch.no_grad():
        train_loss = F.cross_entropy(head(train[0].float()), train[1]).item()
        val_logits = head(val[0].float())
    return {"head_fit": {"train_loss": train_loss, "val_loss": F.cross_entropy(val_logits, val[1]).item(),
                         "val_accuracy": (val_logits.argmax(1) == val[1]).float().mean().item()}}


def linear_probe(head: nn.Linear, feats: torch.Tensor, labels: torch.Tensor, weight_decay: float = 1e-3) -> None:
    """Fit the new head on frozen features (L2-regularised logistic regression, L-BFGS, full batch)."""
    feats, labels = feats.float(), labels.to(feats.device)
    optimizer = torch.optim.LBFGS(head.parameters(), lr=1.0, max_iter=100, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(head(feats), labels) + weight_decay * head.weight.pow(2).sum()
        loss.backward()
        return loss

    head.train()
    optimizer.step(closure)


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
