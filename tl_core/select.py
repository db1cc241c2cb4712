"""Which model, and how many layers: answered from a sample of the person's data before any training.

    sample = sample_data("photos/")                  # at most 500 examples, every class keeping its share
    rank_models(sample)                              # LogME per available model, best first
    relatedness(sample)                              # pretrained against random weights, in words
    layer_scores(sample)                             # LogME after each block, and the unfreeze N it suggests

Every score is LogME (`transferability.logme`) on features reduced to a common number of principal
directions (`transferability.reduce_dims`), from the same frozen-feature and decode caches training uses.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .auto import decide, smallest_class
from .config import AUTO, AUTO_MODEL, RunConfig
from .data import Example
from .device import pick_runtime
from .features import FeatureExtractor, cached_tensor, feature_key, model_key, text_features
from .inputs import Normalized, Views, decode_images, normalize, tokenize, trim
from .models import PRETRAINED, build, catalog, default_model, find_model
from .models.backbone import Backbone
from .rundata import open_run_data
from .runtime import run_frozen
from .transferability import logme, reduce_dims, stratified_sample
from .workspace import digest

SAMPLE = 500        # examples scored: 3 models' scores on 500 pictures take seconds once decoded
RANDOM_SEED = 0     # the random-weights baseline is always the same network
# Below this many pictures torch runs the frozen pass: exporting each model's ONNX graph took 4.5 s under load
# here, more than 20 pictures take through torch. Random weights get a graph of their own, never the pretrained one.
ONNX_FROM = 100


@dataclass
class Sample:
    """At most SAMPLE examples of the person's data, every class keeping its share."""

    kind: str                  # "image" | "text"
    classes: list[str]
    examples: list[Example]
    smallest: int = 0          # examples in the whole data's smallest class (the automatic blocks weigh it)

    @property
    def labels(self) -> np.ndarray:
        return np.array([self.classes.index(e.label) for e in self.examples])


@dataclass
class ModelScore:
    model: str       # catalogue name
    title: str
    score: float     # LogME: higher fits better; compare only on the same sample
    seconds: float   # features (from the cache when there) and the score


@dataclass
class Relatedness:
    gap: float       # LogME pretrained minus LogME with random weights, same architecture, same sample
    sentence: str


@dataclass
class LayerScores:
    model: str
    blocks: list[str]    # the model's block titles, input side first
    scores: list[float]  # LogME on the pooled output of each block
    unfreeze: int        # the suggested number of last blocks to fine-tune (0 = only the new head)
    reason: str


@dataclass
class Recommendation:
    """What training with `--model auto --unfreeze auto` will use (`auto.decide`), and what it rests on."""

    model: str           # the chosen model
    unfreeze: int        # the chosen blocks
    gap: float           # the model's relatedness gap
    relatedness: str     # the gap in words
    reason: str          # the sentences a person reads, as the run's `started` event carries them
    layers: LayerScores  # the model's per-block scores
    why_model: str       # the reason's part about the model
    why_blocks: str      # the reason's part about the blocks
    on_cpu: bool         # the device the choice was made for


def sample_data(data: str, at_most: int = SAMPLE, config: RunConfig | None = None) -> Sample:
    """A stratified sample of `data`, opened as training opens it (`open_run_data`), seed fixed."""
    run_data = open_run_data(config or RunConfig(data=str(data)))
    dataset = run_data.dataset
    keep = stratified_sample([e.label for e in dataset.examples], at_most)
    return Sample(dataset.kind, list(dataset.classes), [dataset.examples[i] for i in keep], smallest_class(dataset))


def rank_models(sample: Sample, models: list[str] | None = None,
                on_score: Callable[[ModelScore], None] | None = None) -> list[ModelScore]:
    """LogME of every model available offline for the sample's kind (or of `models`), best first; `on_score` hears
    each model's as it is done (the app's chart fills in meanwhile)."""
    names = models or [m.name for m in catalog(sample.kind) if m.available]
    scores = []
    for name in names:
        start = time.perf_counter()
        feats, labels = pooled_features(name, sample)
        score = logme(reduce_dims(feats), labels)
        info = find_model(name)
        scores.append(ModelScore(name, info.title if info else name, score, time.perf_counter() - start))
        if on_score is not None:
            on_score(scores[-1])
    return sorted(scores, key=lambda s: -s.score)


def recommend(sample: Sample, ranking: list[ModelScore], on_cpu: bool | None = None) -> Recommendation:
    """The model and blocks training with `--model auto --unfreeze auto` will choose on this device (`auto.decide`,
    the same call `auto.choose` makes), how related the data is to that model, and its per-block scores."""
    if on_cpu is None:
        on_cpu = pick_runtime("auto").device.type == "cpu"
    layers = functools.lru_cache(maxsize=None)(lambda model: layer_scores(sample, model))
    automatic = RunConfig(data="", model=AUTO_MODEL, unfreeze=AUTO)
    choice = decide(automatic, sample.kind, sample.smallest, on_cpu, ranking, layers)
    related = relatedness(sample, choice.model)
    return Recommendation(choice.model, choice.unfreeze, related.gap, related.sentence, choice.reason,
                          layers(choice.model), choice.why_model, choice.why_blocks, on_cpu)


def relatedness(sample: Sample, model: str = "") -> Relatedness:
    """How far the pretrained features beat the same network with random weights on this sample, in words."""
    feats, labels = pooled_features(model, sample)
    random_feats, _ = pooled_features(model, sample, pretrained=False)
    gap = logme(reduce_dims(feats), labels) - logme(reduce_dims(random_feats), labels)
    return Relatedness(gap, relatedness_sentence(gap, sample.kind))


# Gaps measured with bench/transferability.py, 100 pictures per class: ants/bees 0.81 (Lite2) and 0.46 (Lite0),
# tomato leaves 0.44 (Lite2; 0.49 on 500) and 0.30 (Lite0), chest X-rays 0.10 (Lite2), so the best model of the
# three reads "a lot like", "somewhat like" and "quite unlike" on them. Not calibrated for texts: a text model's
# random twin still pools word embeddings, which alone separate many text classes, so text gaps read low.
RELATED, SOMEWHAT = 0.6, 0.2


def relatedness_sentence(gap: float, kind: str = "image") -> str:
    """The gap in plain words, from "a lot like" to "quite unlike"."""
    things = "pictures" if kind == "image" else "texts"
    if gap >= RELATED:
        return f"Your {things} look a lot like what this model learned: its features already tell your classes apart."
    if gap >= SOMEWHAT:
        return (f"Your {things} look somewhat like what this model learned: it helps, and fine-tuning a few later "
                f"layers may help more.")
    return (f"Your {things} are quite unlike what this model learned: fine-tuning more layers will matter "
            f"(its features tell your classes apart little better than random ones).")


def layer_scores(sample: Sample, model: str = "") -> LayerScores:
    """LogME on the pooled output of each block, and the unfreeze N the curve suggests (`suggest_unfreeze`)."""
    backbone = _backbone(model, sample, PRETRAINED)
    per_block = block_features(backbone, sample)
    labels = _labels_read(backbone, sample)
    scores = [logme(reduce_dims(f), labels) for f in per_block]
    titles = [b.title for b in backbone.blocks]
    unfreeze, reason = suggest_unfreeze(titles, scores)
    return LayerScores(model or default_model(sample.kind).name, titles, scores, unfreeze, reason)


def suggest_unfreeze(titles: list[str], scores: list[float], tolerance: float = 0.01) -> tuple[int, str]:
    """Peak before the last block: fine-tune the blocks after the peak. Climbing to the end: the head alone.

    The later blocks of a network are specialised to what it learned (Yosinski et al. 2014); where their
    features separate the person's classes worse than an earlier block's, they need to adapt. A peak within
    `tolerance` of the last block's score counts as the end, so noise does not unfreeze a block.
    """
    last = len(scores) - 1
    peak = int(np.argmax(scores))
    if scores[last] >= scores[peak] - tolerance:
        return 0, (f"The score climbs to the last block ({titles[last]}): its features already suit your classes, "
                   f"so training only the new head will do.")
    n = last - peak
    after = "the last block" if n == 1 else f"the last {n} blocks"
    return n, (f"The score peaks at {titles[peak]} and falls after it: {after} learned things specific to what "
               f"the model was trained on, so fine-tune {after} (unfreeze {n}).")


def pooled_features(model: str, sample: Sample, pretrained: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels) of the sample: the head's input, from the frozen-feature cache training shares.
    Pictures that do not decode are left out."""
    backbone = _backbone(model, sample, PRETRAINED if pretrained else None)
    runtime = pick_runtime("auto")
    weights = "pretrained" if pretrained else f"random weights {RANDOM_SEED}"
    if sample.kind == "text":
        texts = [e.text for e in sample.examples]
        tokens = tokenize(texts, backbone.tokenizer, backbone.preprocess.max_length)
        key = feature_key(backbone, digest(texts, weights), runtime, "features")
        feats = cached_tensor(key, lambda: text_features(backbone.model, tokens, tokens.mask.sum(1), runtime))
        return feats.numpy(), sample.labels
    decoded = decode_images(sample.examples, backbone.preprocess)
    rows = _decoded_rows(decoded, sample)
    views = Views(decoded.images, rows, [], "none", 0)
    key = feature_key(backbone, digest(decoded.key, rows, weights), runtime, "features")
    onnx = digest(model_key(backbone), weights, "uint8 features") if len(rows) >= ONNX_FROM else None
    feats = cached_tensor(key, lambda: run_frozen(Normalized(FeatureExtractor(backbone), backbone.preprocess), views,
                                                  runtime, key=onnx))
    return feats.numpy(), sample.labels[rows]


@torch.no_grad()
def block_features(backbone: Backbone, sample: Sample, batch_size: int = 64) -> list[np.ndarray]:
    """The average-pooled output of each block for the sample (an image model's stages; a text model's layers).
    Cached under the model's name like its pretrained features: give it a pretrained backbone."""
    if sample.kind == "text":
        return _text_block_features(backbone, sample, batch_size)
    if not backbone.stages:
        raise ValueError(f"{backbone.name or backbone.arch} does not run as a chain of blocks, so its per-layer "
                         f"scores cannot be computed; the model ranking still works for it.")
    decoded = decode_images(sample.examples, backbone.preprocess)
    rows = _decoded_rows(decoded, sample)
    images, runtime = decoded.images[rows], pick_runtime("auto")
    key = feature_key(backbone, digest(decoded.key, rows), runtime, "pooled after each block")
    pooled = cached_tensor(key, lambda: torch.cat([_pooled_blocks(backbone, batch, runtime)
                                                   for batch in images.split(batch_size)]))
    return _split_blocks(pooled.numpy(), _block_widths(backbone))


def _pooled_blocks(backbone: Backbone, images: torch.Tensor, runtime) -> torch.Tensor:
    """(B, sum of block widths): the chain of stages, average-pooled after each block's last module."""
    x, outs = normalize(images, backbone.preprocess).to(runtime.device), []
    stages = backbone.stages
    backbone.model.to(runtime.device)
    with torch.inference_mode(), runtime.autocast():
        for i, (block, module) in enumerate(stages):
            x = module(x)
            if i + 1 == len(stages) or stages[i + 1][0] != block:
                outs.append(x.float().mean((2, 3)).cpu())
    return torch.cat(outs, 1)


def _block_widths(backbone: Backbone) -> list[int]:
    """Channels at each block's end, from one small forward pass."""
    x, widths, stages = torch.zeros(1, *backbone.preprocess.input_size), [], backbone.stages
    backbone.model.cpu()
    for i, (block, module) in enumerate(stages):
        x = module(x)
        if i + 1 == len(stages) or stages[i + 1][0] != block:
            widths.append(x.shape[1])
    return widths


def _split_blocks(pooled: np.ndarray, widths: list[int]) -> list[np.ndarray]:
    return np.split(pooled, np.cumsum(widths)[:-1], axis=1)


def _text_block_features(backbone: Backbone, sample: Sample, batch_size: int) -> list[np.ndarray]:
    """Mean-pooled hidden states over real tokens: the embeddings, then each layer (the model's blocks)."""
    texts = [e.text for e in sample.examples]
    tokens = tokenize(texts, backbone.tokenizer, backbone.preprocess.max_length)
    encoder, outs = backbone.model.encoder, []
    for start in range(0, len(texts), batch_size):
        ids, mask = trim(tokens.ids[start:start + batch_size], tokens.mask[start:start + batch_size])
        hidden = encoder(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
        weight = mask.unsqueeze(-1).float()                                     # (B, T, 1)
        outs.append([((h * weight).sum(1) / weight.sum(1).clamp(min=1)).numpy() for h in hidden])
    return [np.concatenate([batch[b] for batch in outs]) for b in range(len(outs[0]))]


def _labels_read(backbone: Backbone, sample: Sample) -> np.ndarray:
    """The labels of the examples the features cover: a picture that fails to decode has none."""
    if sample.kind != "image":
        return sample.labels
    return sample.labels[_decoded_rows(decode_images(sample.examples, backbone.preprocess), sample)]


def _decoded_rows(decoded, sample: Sample) -> list[int]:
    """The sample's pictures that decoded (all, nearly always), as indices into the sample."""
    return [i for i in range(len(sample.examples)) if i not in decoded.failed]


def _backbone(model: str, sample: Sample, weights) -> Backbone:
    return _built(model, sample.kind, len(sample.classes), weights)


@functools.lru_cache(maxsize=2)
def _built(model: str, kind: str, classes: int, weights) -> Backbone:
    """The last two networks scored, kept: a recommendation reads one model's features, its random twin's and
    its blocks', and building Lite0 (with its chain check) took 1.4 s of a 10 s `rank` on 20 pictures here."""
    torch.manual_seed(RANDOM_SEED)  # random weights: the same network every time, so its cache entries hold
    return build(model, kind, classes, weights)
