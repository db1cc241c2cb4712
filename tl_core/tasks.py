"""The plan turned into a `Task`: one named builder per training path, for pictures and for texts.

Three paths, fastest first; each gives the same model a plain full forward would (tests check it):
- cached features (head only): the frozen network runs once over every image (and a mirrored copy)
  and only the new head trains on the cached features;
- cached prefix (the last N blocks): the frozen prefix runs once over a pool of views of each training
  picture (the image, its mirror, then random-resized crops and flips of the augment preset), its
  activations are cached, only the suffix trains, and each epoch shows each picture in one view of its pool,
  a different one each epoch (`Task.pool`). Showing the same two views every epoch let the blocks memorise
  them (plant_tomato, 2 blocks: training loss 0.008 while validation loss rose to 0.96). The head's frozen
  features come from the rest of the network over the pool's first views, not from a second pass;
- full network (everything, or a model whose forward is not a simple chain): the whole network on
  augmented images.
Pretrained runs that train more than the head first fit the head on frozen features (`probe.py`), and train a
copy of the head alone as a head-only run would (`head_first`): the training loop keeps the better of the two
as epoch 0 when no fine-tuning epoch matches or beats it.
(Head-only runs start from a zero-mean random head instead: starting them from the probe's
near-zero training loss left AdamW nothing to improve and cost 1-2 points of validation accuracy here.)
"""
from __future__ import annotations

import copy
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
from .features import (TensorRows, cached_features_after_prefix, cached_image_features, cached_prefix,
                       cached_text_features, prefix_fits_in_cache, prefix_pool)
from .freeze import Plan, plan_for
from .inputs import Tokens, apply_augment, augmenter, normalize, tokenize, trim
from .models.backbone import Backbone
from .pictures import Pictures, read_pictures
from .probe import fit_head_first
from .task import Task, TrainingPath

Rows = tuple[torch.Tensor, torch.Tensor]  # (frozen features, labels) of training or validation examples


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

    def reporter(self, text: str, unit: str) -> Callable[[int, int], None]:
        """Progress of a step before training: `text`, then "done of total `unit`" as the page shows it."""
        return lambda done, total: self.on_event(events.make(events.PREPARING, text=text, done=done, total=total,
                                                             unit=unit))

    def frozen_pass(self, pictures: Pictures | None = None, who: str = "The pretrained network looks") -> Callable:
        """Progress of a frozen pass, in words that say what its count counts: texts, or views of `pictures`."""
        if pictures is None:
            return self.reporter("The pretrained network reads every text once", "texts")
        return self.reporter(f"{who} at your pictures ({pictures.seen_as()})", "views")

    def settings(self) -> Settings:
        return settings_for(self.config, self.dataset.kind, self.plan)

    def task(self, path: TrainingPath, head: nn.Module | None = None, **fields) -> Task:
        """A Task with what every path shares: the settings (automatic where the config says 0), the head, saving."""
        settings = self.settings()
        save = functools.partial(save_model, self.backbone, self.dataset.classes, config=self.config)
        return Task(path=path, epochs=settings.epochs, lr=settings.lr, batch_size=settings.batch_size, plan=self.plan,
                    early_stop=settings.early_stop, classes=self.dataset.classes,
                    head=self.backbone.head if head is None else head, save=save, **fields)

    def head_task(self, head: nn.Module, train: Rows, val: Rows, **fields) -> Task:
        """Only `head` trains, on cached frozen features (training and validation rows: features, labels)."""
        return self.task(TrainingPath.CACHED_FEATURES, head=head, module=head, forward=lambda x, training: head(x[0]),
                         train_inputs=(train[0],), train_labels=train[1], val_inputs=(val[0],), val_labels=val[1],
                         weight_decay=1e-4, frozen_batchnorm=True, lightweight=True, **fields)

    def head_first(self, train: Rows, val: Rows, val_names: list[str],
                   examples: int | None = None) -> tuple[dict, Task]:
        """Before blocks train (runs that `fits_head_first`; callers check): the linear probe fitted into the model's
        head, which fine-tuning starts from (`probe.fit_head_first`, for the `started` event), and a copy of the head
        trained alone, exactly as a head-only run of this config trains it (same random start, features, settings
        and seed).

        The training loop scores both as epoch 0 and keeps the better when no fine-tuning epoch matches or beats
        it, so fine-tuning never ends below head only on the same data. The probe alone did not promise that: its L2
        strength is picked for a good start, not for accuracy, and on ag_news it scored 85.8 % against head
        only's 87.5 %, which every fine-tuning epoch stayed below (docs/quality-long.md, 2026-12-02).
        """
        alone = copy.deepcopy(self.backbone.head)  # still the random head a head-only run starts from
        fitted = fit_head_first(self.backbone.head, train, val, examples)
        head_only = dataclasses.replace(self, plan=plan_for(self.backbone, 0))
        return fitted, head_only.head_task(alone, train, val, val_names=val_names)


def build_task(config: RunConfig, dataset: Dataset, train_idx: list[int], val_idx: list[int], backbone: Backbone,
               plan: Plan, runtime: Runtime, on_event: events.EventSink) -> Task:
    args = TaskArgs(config, dataset, train_idx, val_idx, backbone, plan, runtime, on_event)
    if dataset.kind == "image":
        pictures = read_pictures(args)
        return IMAGE_PATHS[image_path(args, pictures)](args, pictures)
    texts = read_texts(args)
    return TEXT_PATHS[text_path(args)](args, texts)


# ---------------------------------------------------------------- images

def image_path(args: TaskArgs, pictures: Pictures) -> TrainingPath:
    plan, backbone = args.plan, args.backbone
    if plan.head_only:
        return TrainingPath.CACHED_FEATURES
    first = plan.first_trainable
    if (not plan.from_scratch and backbone.stages and first > 0
            and prefix_fits_in_cache(backbone, first, len(pictures.train_labels))):
        return TrainingPath.CACHED_PREFIX
    return TrainingPath.FULL_NETWORK


def _image_features(args: TaskArgs, pictures: Pictures) -> torch.Tensor:
    """Frozen pretrained features of the training views, then of val, from the whole network."""
    return cached_image_features(args.backbone, pictures.views, pictures.views_key, args.runtime,
                                 args.frozen_pass(pictures))


def _image_head_first(args: TaskArgs, pictures: Pictures,
                      features: Callable[[], torch.Tensor] | None = None) -> tuple[dict, Task | None]:
    """Pretrained runs that train more than the head fit it on frozen features first (`TaskArgs.head_first`);
    `features` gives them where the caller has a shorter way than the whole network (`image_cached_prefix`)."""
    if not args.fits_head_first:
        return {}, None
    train, val = _image_rows(pictures, features() if features else _image_features(args, pictures))
    return args.head_first(train, val, pictures.val_names(args.dataset), examples=len(pictures.train_idx))


def _image_rows(pictures: Pictures, features: torch.Tensor) -> tuple[Rows, Rows]:
    """(frozen features, labels) of the training views and of the validation pictures."""
    train_feats, val_feats = pictures.split_rows(features)
    return (train_feats, pictures.train_labels), (val_feats, pictures.labels[pictures.val_idx])


def image_cached_features(args: TaskArgs, pictures: Pictures) -> Task:
    train, val = _image_rows(pictures, _image_features(args, pictures))
    return args.head_task(args.backbone.head, train, val, info=pictures.counts(),
                          val_names=pictures.val_names(args.dataset))


def image_cached_prefix(args: TaskArgs, pictures: Pictures) -> Task:
    backbone, first = args.backbone, args.plan.first_trainable
    wanted = 1 if args.config.augment == "none" else min(POOL_VIEWS, args.settings().epochs)  # one view an epoch
    pool = pictures.pool(prefix_pool(backbone, first, len(pictures.train_idx), pictures.views.count, wanted))
    acts = cached_prefix(backbone, first, pool.views, pool.views_key, args.runtime,
                         args.frozen_pass(pool, "The frozen blocks look"))
    # the head's features: the pool's first views are the run's own views, so only the rest of the network runs
    head_fit, head_alone = _image_head_first(args, pictures, lambda: cached_features_after_prefix(
        backbone, first, TensorRows(acts, pictures.rows_in(pool)), pictures.views_key, args.runtime,
        args.reporter("The last blocks finish the features the new head is first fitted on", "views")))
    suffix = _Suffix(nn.Sequential(*[m for b, m in backbone.stages if b >= first]), backbone.model)
    train_acts, val_acts = pool.split_rows(acts)
    return args.task(TrainingPath.CACHED_PREFIX, module=suffix, forward=lambda x, training: suffix(x[0]),
                     train_inputs=(train_acts,), train_labels=pool.train_labels, val_inputs=(val_acts,),
                     weight_decay=0.01, frozen_batchnorm=True, pool=pool.views.count, head_alone=head_alone,
                     info={**pool.counts(), **head_fit}, **pool.val_fields(args.dataset))


def image_full_network(args: TaskArgs, pictures: Pictures) -> Task:
    model, preprocessing = args.backbone.model, args.backbone.preprocess
    head_fit, head_alone = _image_head_first(args, pictures)
    train_images, val_images = pictures.decoded.images[pictures.train_idx], pictures.decoded.images[pictures.val_idx]
    aug = augmenter(args.config.augment, tuple(train_images.shape[-2:]))

    def forward(x: tuple, training: bool) -> torch.Tensor:
        images = apply_augment(x[0], aug) if training else x[0]
        return model(normalize(images, preprocessing))

    return args.task(TrainingPath.FULL_NETWORK, module=model, forward=forward, train_inputs=(train_images,),
                     train_labels=pictures.labels[pictures.train_idx], val_inputs=(val_images,), weight_decay=0.01,
                     frozen_batchnorm=not args.plan.from_scratch, info=head_fit, head_alone=head_alone,
                     **pictures.val_fields(args.dataset))


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
        return {"val_labels": self.labels[val_idx], "val_names": self.val_names(val_idx)}

    def val_names(self, val_idx: list[int]) -> list[str]:
        return [self.texts[i][:200] for i in val_idx]


def read_texts(args: TaskArgs) -> Texts:
    texts = [e.text for e in args.dataset.examples]
    return Texts(texts, tokenize(texts, args.backbone.tokenizer, args.backbone.preprocess.max_length), args.labels())


def text_path(args: TaskArgs) -> TrainingPath:
    """Texts take no cached-prefix path: beyond the head, the whole encoder trains."""
    return TrainingPath.CACHED_FEATURES if args.plan.head_only else TrainingPath.FULL_NETWORK


def _text_features(args: TaskArgs, texts: Texts) -> torch.Tensor:
    return cached_text_features(args.backbone, texts.texts, texts.tokens, args.runtime, args.frozen_pass())


def _text_rows(args: TaskArgs, texts: Texts) -> tuple[Rows, Rows]:
    """(frozen features, labels) of the training and of the validation texts."""
    feats = _text_features(args, texts)
    return ((feats[args.train_idx], texts.labels[args.train_idx]),
            (feats[args.val_idx], texts.labels[args.val_idx]))


def text_cached_features(args: TaskArgs, texts: Texts) -> Task:
    train, val = _text_rows(args, texts)
    return args.head_task(args.backbone.head, train, val, val_names=texts.val_names(args.val_idx))


def text_full_network(args: TaskArgs, texts: Texts) -> Task:
    model, train_idx, val_idx = args.backbone.model, args.train_idx, args.val_idx
    head_fit, head_alone = {}, None
    if args.fits_head_first:
        head_fit, head_alone = args.head_first(*_text_rows(args, texts), texts.val_names(val_idx))

    def forward(x: tuple, training: bool) -> torch.Tensor:
        return model(*trim(x[0], x[1]))

    ids, mask = texts.tokens.ids, texts.tokens.mask
    return args.task(TrainingPath.FULL_NETWORK, module=model, forward=forward,
                     train_inputs=(ids[train_idx], mask[train_idx]), train_labels=texts.labels[train_idx],
                     val_inputs=(ids[val_idx], mask[val_idx]), weight_decay=0.01, frozen_batchnorm=True,
                     lengths=mask.sum(1)[train_idx], info=head_fit, head_alone=head_alone, **texts.val_fields(val_idx))


TEXT_PATHS: dict[TrainingPath, Callable[[TaskArgs, Texts], Task]] = {
    TrainingPath.CACHED_FEATURES: text_cached_features,
    TrainingPath.FULL_NETWORK: text_full_network,
}
