"""The plan turned into a `Task`: one named builder per training path, for pictures and for texts.

Three paths, fastest first; each gives the same model a plain full forward would (tests check it):
- cached features (head only): the frozen network runs once over every image (and a mirrored copy)
  and only the new head trains on the cached features;
- cached prefix (the last N blocks): the frozen prefix runs once over a pool of views of each training
  picture (the image, its mirror, then random-resized crops and flips of the augment preset), its
  activations are cached, only the suffix trains, and each epoch shows each picture in one view of its pool,
  a different one each epoch (`Task.pool`). Showing the same two views every epoch let the blocks memorise
  them (plant_tomato, 2 blocks: training loss 0.008 while validation loss rose to 0.96);
- full network (everything, or a model whose forward is not a simple chain): the whole network on
  augmented images.
Pretrained runs that train more than the head first fit the head on frozen features (`probe.py`).
(Head-only runs start from a zero-mean random head instead: starting them from the probe's
near-zero training loss left AdamW nothing to improve and cost 1-2 points of validation accuracy here.)
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from . import events
from .checkpoint import save_model
from .config import RunConfig
from .data import Dataset
from .defaults import POOL_VIEWS, Settings, settings_for
from .device import Runtime
from .features import cached_image_features, cached_prefix, cached_text_features, prefix_fits_in_cache, prefix_pool
from .freeze import Plan
from .inputs import Decoded, Tokens, Views, apply_augment, augmenter, decode_images, normalize, tokenize, trim
from .models.backbone import Backbone
from .probe import fit_head_first
from .task import Task, TrainingPath
from .workspace import digest

FROZEN_PASS = {"image": "The pretrained network looks at every picture once",
               "text": "The pretrained network reads every text once"}


@dataclass
class TaskArgs:
    """What every path builder starts from: the run's config, its data and split, the model and its plan."""

    config: RunConfig
    dataset: Dataset
    train_idx: list[int]
    val_idx: list[int]
    backbone: Backbone
    plan: Plan
    runtime: Runtime
    on_event: events.EventSink

    def labels(self) -> torch.Tensor:
        """Every example's class index."""
        return torch.tensor([self.dataset.classes.index(e.label) for e in self.dataset.examples])

    @property
    def fits_head_first(self) -> bool:
        """Whether the new head is fitted on frozen features before more trains: not from scratch (nothing frozen
        to fit on), and not for a continuation, whose head is already trained and whose trained blocks no longer
        give the pretrained features those caches hold."""
        return not self.plan.from_scratch and not self.config.resume_from

    def reporter(self, text: str) -> Callable[[int, int], None]:
        return lambda done, total: self.on_event(events.make(events.PREPARING, text=text, done=done, total=total))

    def frozen_pass(self) -> Callable[[int, int], None]:
        return self.reporter(FROZEN_PASS[self.dataset.kind])

    def settings(self) -> Settings:
        return settings_for(self.config, self.dataset.kind, self.plan)

    def task(self, path: TrainingPath, **fields) -> Task:
        """A Task with what every path shares: the settings (automatic where the config says 0), the head, saving."""
        settings = self.settings()
        save = functools.partial(save_model, self.backbone, self.dataset.classes, config=self.config)
        return Task(path=path, epochs=settings.epochs, lr=settings.lr, batch_size=settings.batch_size, plan=self.plan,
                    early_stop=settings.early_stop,
                    classes=self.dataset.classes, head=self.backbone.head, save=save, **fields)


def build_task(config: RunConfig, dataset: Dataset, train_idx: list[int], val_idx: list[int], backbone: Backbone,
               plan: Plan, runtime: Runtime, on_event: events.EventSink) -> Task:
    args = TaskArgs(config, dataset, train_idx, val_idx, backbone, plan, runtime, on_event)
    if dataset.kind == "image":
        pictures = read_pictures(args)
        return IMAGE_PATHS[image_path(args, pictures)](args, pictures)
    texts = read_texts(args)
    return TEXT_PATHS[text_path(args)](args, texts)


# ---------------------------------------------------------------- images

@dataclass
class Pictures:
    """The run's pictures decoded once; any that could not be read are left out of both sides."""

    decoded: Decoded
    train_idx: list[int]
    val_idx: list[int]
    labels: torch.Tensor     # every example's class index
    views: Views             # what a frozen pass runs over: training views, then validation pictures
    views_key: str           # names those views in the feature cache

    @property
    def train_labels(self) -> torch.Tensor:
        """The labels of the training views (view-major, as Views orders them)."""
        return self.labels[self.train_idx].repeat(self.views.count)

    def pool(self, count: int) -> "Pictures":
        """The same pictures with `count` views of each training picture: the pool an epoch draws one view from."""
        views = Views(self.views.images, self.train_idx, self.val_idx, self.views.preset, self.views.seed, count)
        return dataclasses.replace(self, views=views, views_key=digest(self.views_key, "pool", count))

    def val_fields(self, dataset: Dataset) -> dict:
        return {"val_labels": self.labels[self.val_idx], "val_names": [dataset.examples[i].name for i in self.val_idx]}

    def counts(self) -> dict:
        return {"train_examples": len(self.train_idx), "views_per_example": self.views.count}

    def split_rows(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A frozen pass's output cut into training views and validation pictures."""
        n = len(self.train_labels)
        return rows[:n], rows[n:]


def read_pictures(args: TaskArgs) -> Pictures:
    examples, config = args.dataset.examples, args.config
    reading = args.reporter(f"Reading {len(examples)} pictures")
    reading(0, len(examples))
    decoded = decode_images(examples, args.backbone.preprocess, on_done=reading)
    if decoded.failed:
        left_out = "; ".join(f"{examples[i].name} ({why})" for i, why in list(decoded.failed.items())[:10])
        args.on_event(events.make(events.NOTE, text=f"{len(decoded.failed)} image(s) could not be read and were left "
                                                    f"out: {left_out}"))
    train_idx = [i for i in args.train_idx if i not in decoded.failed]
    val_idx = [i for i in args.val_idx if i not in decoded.failed]
    views = Views(decoded.images, train_idx, val_idx, config.augment, config.seed)
    views_key = digest(decoded.key, train_idx, val_idx, config.augment, config.seed, "views v2")
    return Pictures(decoded, train_idx, val_idx, args.labels(), views, views_key)


def image_path(args: TaskArgs, pictures: Pictures) -> TrainingPath:
    plan, backbone = args.plan, args.backbone
    if plan.head_only:
        return TrainingPath.CACHED_FEATURES
    first = plan.first_trainable
    if (not plan.from_scratch and backbone.stages and first > 0
            and prefix_fits_in_cache(backbone, first, len(pictures.train_labels))):
        return TrainingPath.CACHED_PREFIX
    return TrainingPath.FULL_NETWORK


def _image_features(args: TaskArgs, pictures: Pictures) -> tuple[torch.Tensor, torch.Tensor]:
    """Frozen pretrained features of the training views and of val."""
    return pictures.split_rows(cached_image_features(args.backbone, pictures.views, pictures.views_key, args.runtime,
                                                     args.frozen_pass()))


def _image_head_fit(args: TaskArgs, pictures: Pictures) -> dict:
    """Pretrained runs that train more than the head fit it on frozen features first (see `fits_head_first`)."""
    if not args.fits_head_first:
        return {}
    train_feats, val_feats = _image_features(args, pictures)
    val_labels = pictures.labels[pictures.val_idx]
    return fit_head_first(args.backbone.head, (train_feats, pictures.train_labels), (val_feats, val_labels),
                          examples=len(pictures.train_idx))


def image_cached_features(args: TaskArgs, pictures: Pictures) -> Task:
    head = args.backbone.head
    train_feats, val_feats = _image_features(args, pictures)
    return args.task(TrainingPath.CACHED_FEATURES, module=head, forward=lambda x, training: head(x[0]),
                     train_inputs=(train_feats,), train_labels=pictures.train_labels, val_inputs=(val_feats,),
                     weight_decay=1e-4, frozen_batchnorm=True, info=pictures.counts(), lightweight=True,
                     **pictures.val_fields(args.dataset))


def image_cached_prefix(args: TaskArgs, pictures: Pictures) -> Task:
    backbone, first = args.backbone, args.plan.first_trainable
    head_fit = _image_head_fit(args, pictures)
    suffix = _Suffix(nn.Sequential(*[m for b, m in backbone.stages if b >= first]), backbone.model)
    wanted = 1 if args.config.augment == "none" else min(POOL_VIEWS, args.settings().epochs)  # one view an epoch
    pool = pictures.pool(prefix_pool(backbone, first, len(pictures.train_idx), pictures.views.count, wanted))
    acts = cached_prefix(backbone, first, pool.views, pool.views_key, args.runtime, args.frozen_pass())
    train_acts, val_acts = pool.split_rows(acts)
    return args.task(TrainingPath.CACHED_PREFIX, module=suffix, forward=lambda x, training: suffix(x[0]),
                     train_inputs=(train_acts,), train_labels=pool.train_labels, val_inputs=(val_acts,),
                     weight_decay=0.01, frozen_batchnorm=True, pool=pool.views.count,
                     info={**pool.counts(), **head_fit}, **pool.val_fields(args.dataset))


def image_full_network(args: TaskArgs, pictures: Pictures) -> Task:
    model, preprocessing = args.backbone.model, args.backbone.preprocess
    head_fit = _image_head_fit(args, pictures)
    train_images, val_images = pictures.decoded.images[pictures.train_idx], pictures.decoded.images[pictures.val_idx]
    aug = augmenter(args.config.augment, tuple(train_images.shape[-2:]))

    def forward(x: tuple, training: bool) -> torch.Tensor:
        images = apply_augment(x[0], aug) if training else x[0]
        return model(normalize(images, preprocessing))

    return args.task(TrainingPath.FULL_NETWORK, module=model, forward=forward, train_inputs=(train_images,),
                     train_labels=pictures.labels[pictures.train_idx], val_inputs=(val_images,), weight_decay=0.01,
                     frozen_batchnorm=not args.plan.from_scratch, info=head_fit, **pictures.val_fields(args.dataset))


class _Suffix(nn.Module):
    """The trainable end of a network: the unfrozen blocks, then the model's own head."""

    def __init__(self, blocks: nn.Sequential, model: nn.Module):
        super().__init__()
        self.blocks = blocks
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_head(self.blocks(x))


IMAGE_PATHS: dict[TrainingPath, Callable[[TaskArgs, Pictures], Task]] = {
    TrainingPath.CACHED_FEATURES: image_cached_features,
    TrainingPath.CACHED_PREFIX: image_cached_prefix,
    TrainingPath.FULL_NETWORK: image_full_network,
}


# ---------------------------------------------------------------- texts

@dataclass
class Texts:
    """The run's texts, tokenised once."""

    texts: list[str]
    tokens: Tokens
    labels: torch.Tensor     # every example's class index

    def val_fields(self, val_idx: list[int]) -> dict:
        return {"val_labels": self.labels[val_idx], "val_names": [self.texts[i][:200] for i in val_idx]}


def read_texts(args: TaskArgs) -> Texts:
    texts = [e.text for e in args.dataset.examples]
    return Texts(texts, tokenize(texts, args.backbone.tokenizer, args.backbone.preprocess.max_length), args.labels())


def text_path(args: TaskArgs) -> TrainingPath:
    """Texts take no cached-prefix path: beyond the head, the whole encoder trains."""
    return TrainingPath.CACHED_FEATURES if args.plan.head_only else TrainingPath.FULL_NETWORK


def _text_features(args: TaskArgs, texts: Texts) -> torch.Tensor:
    return cached_text_features(args.backbone, texts.texts, texts.tokens, args.runtime, args.frozen_pass())


def text_cached_features(args: TaskArgs, texts: Texts) -> Task:
    head, train_idx, val_idx = args.backbone.head, args.train_idx, args.val_idx
    feats = _text_features(args, texts)
    return args.task(TrainingPath.CACHED_FEATURES, module=head, forward=lambda x, training: head(x[0]),
                     train_inputs=(feats[train_idx],), train_labels=texts.labels[train_idx],
                     val_inputs=(feats[val_idx],), weight_decay=1e-4, frozen_batchnorm=True, lightweight=True,
                     **texts.val_fields(val_idx))


def text_full_network(args: TaskArgs, texts: Texts) -> Task:
    model, train_idx, val_idx = args.backbone.model, args.train_idx, args.val_idx
    head_fit = {}
    if args.fits_head_first:
        feats = _text_features(args, texts)
        head_fit = fit_head_first(args.backbone.head, (feats[train_idx], texts.labels[train_idx]),
                                  (feats[val_idx], texts.labels[val_idx]))

    def forward(x: tuple, training: bool) -> torch.Tensor:
        return model(*trim(x[0], x[1]))

    ids, mask = texts.tokens.ids, texts.tokens.mask
    return args.task(TrainingPath.FULL_NETWORK, module=model, forward=forward,
                     train_inputs=(ids[train_idx], mask[train_idx]), train_labels=texts.labels[train_idx],
                     val_inputs=(ids[val_idx], mask[val_idx]), weight_decay=0.01, frozen_batchnorm=True,
                     lengths=mask.sum(1)[train_idx], info=head_fit, **texts.val_fields(val_idx))


TEXT_PATHS: dict[TrainingPath, Callable[[TaskArgs, Texts], Task]] = {
    TrainingPath.CACHED_FEATURES: text_cached_features,
    TrainingPath.FULL_NETWORK: text_full_network,
}
