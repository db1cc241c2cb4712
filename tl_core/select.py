"""Which model, and how many layers: answered from a sample of the person's data before any training.

    sample = sample_data("photos/")                  # at most 150 pictures, every class keeping its share
    rank_models(sample)                              # LogME per available model, best first
    relatedness(sample)                              # pretrained against random weights, in words
    layer_scores(sample)                             # LogME after each block, and the unfreeze N it suggests

Every score is LogME (`transferability.logme`) on features reduced to a common number of principal
directions (`transferability.reduce_dims`), from the same frozen-feature and decode caches training uses.
"""
from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .auto import decide, smallest_class, suggest_unfreeze
from .config import AUTO, AUTO_MODEL, RANK_SAMPLE, RunConfig
from .data import Example, things as plain_things
from .device import pick_runtime
from .features import FeatureExtractor, PooledBlocks, cached_tensor, feature_key, model_key
from .inputs import Normalized, Tokens, Views, decode_images, tokenize, trim
from .models import PRETRAINED, build, catalog, default_model, find_model
from .models.backbone import Backbone
from .rundata import open_run_data
from .runtime import run_frozen
from .transferability import logme, reduce_dims, stratified_sample
from .workspace import digest

RANDOM_SEED = 0     # the random-weights baseline is always the same network
# Examples the random twin sees: the twin of Lite2 on 200 pictures took 33 s of a cold 112 s `rank` of hymenoptera
# (loaded machine), and on 100 the gaps read the same words (below).
TWIN = 100
# Below this many pictures torch runs the frozen pass. Profiled on a cold `choose` of ants/bees (2 AVX-512 cores):
# exporting a graph took 0.6-1.6 s, and ONNX Runtime's three passes over 149 pictures 7.4 s in all, so a fresh
# export and Lite2's pass cost about what torch's 3.0 s over its random twin's 99 pictures did. Random weights get a
# graph of their own, never the pretrained one.
ONNX_FROM = 100


@dataclass
class Sample:
    """At most RANK_SAMPLE[kind] examples of the person's data, every class keeping its share."""

    kind: str                  # "image" | "text"
    classes: list[str]
    examples: list[Example]
    smallest: int = 0          # examples in the whole data's smallest class (the automatic blocks weigh it)
    whole: int = 0             # examples in the whole data

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
    gap: float | None    # the model's relatedness gap (None: not measured, `recommend(..., related=False)`)
    relatedness: str     # the gap in words ("" when not measured)
    reason: str          # the sentences a person reads, as the run's `started` event carries them
    layers: LayerScores  # the model's per-block scores
    why_model: str       # the reason's part about the model
    why_blocks: str      # the reason's part about the blocks
    on_cpu: bool         # the device the choice was made for


def sample_data(data: str, at_most: int | None = None, config: RunConfig | None = None) -> Sample:
    """A stratified sample of `data` (at most RANK_SAMPLE[kind] examples unless `at_most` says), opened as training
    opens it (`open_run_data`), seed fixed."""
    run_data = open_run_data(config or RunConfig(data=str(data)))
    dataset = run_data.dataset
    keep = stratified_sample([e.label for e in dataset.examples], at_most or RANK_SAMPLE[dataset.kind])
    return Sample(dataset.kind, list(dataset.classes), [dataset.examples[i] for i in keep], smallest_class(dataset),
                  len(dataset.examples))


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


def recommend(sample: Sample, ranking: list[ModelScore], on_cpu: bool | None = None,
              related: bool = True) -> Recommendation:
    """The model and blocks training with `--model auto --unfreeze auto` will choose on this device (`auto.decide`,
    the same call `auto.choose` makes), how related the data is to that model, and its per-block scores.
    `related=False` leaves the relatedness out: the choice does not use it, and its random twin's pass took 3.5 of a
    cold 17.5 s choice on ants/bees here (training ranks so; the app measures it when it shows the record)."""
    if on_cpu is None:
        on_cpu = pick_runtime("auto").device.type == "cpu"
    layers = functools.lru_cache(maxsize=None)(lambda model: layer_scores(sample, model))
    automatic = RunConfig(data="", model=AUTO_MODEL, unfreeze=AUTO)
    choice = decide(automatic, sample.kind, sample.smallest, on_cpu, ranking, layers)
    gap, words = dataclasses.astuple(relatedness(sample, choice.model)) if related else (None, "")
    return Recommendation(choice.model, choice.unfreeze, gap, words, choice.reason,
                          layers(choice.model), choice.why_model, choice.why_blocks, on_cpu)


def relatedness(sample: Sample, model: str = "") -> Relatedness:
    """How far the pretrained features beat the same network with random weights, in words: on at most TWIN of the
    sample's examples (the pretrained side read from the ranking's pass over the same ones)."""
    feats, labels = pooled_features(model, sample)
    part = stratified_sample(list(labels), TWIN)  # rows of the features: the examples they cover, in order
    backbone = _backbone(model, sample, PRETRAINED)
    covered = (_decoded_rows(decode_images(sample.examples, backbone.preprocess), sample) if sample.kind == "image"
               else range(len(sample.examples)))
    twin = Sample(sample.kind, sample.classes, [sample.examples[covered[i]] for i in part], sample.smallest,
                  sample.whole)
    random_feats, random_labels = pooled_features(model, twin, pretrained=False)
    gap = logme(reduce_dims(feats[part]), labels[part]) - logme(reduce_dims(random_feats), random_labels)
    return Relatedness(gap, relatedness_sentence(gap, sample.kind))


# Gaps measured with bench/transferability.py, 100 pictures per class: ants/bees 0.81 (Lite2) and 0.46 (Lite0),
# tomato leaves 0.44 (Lite2; 0.49 on 500) and 0.30 (Lite0), chest X-rays 0.10 (Lite2), so the best model of the
# three reads "a lot like", "somewhat like" and "quite unlike" on them. On TWIN examples (3 stratified draws each)
# the chosen models read the same words as on 500: ants/bees 0.75-0.88 (Lite2), cats/dogs 1.06-1.44 (Lite2),
# tomato 0.24-0.33 and chest 0.05-0.12 (Lite0); yelp 0.24-0.29, ag_news 0.26-0.30, sms_spam 0.01-0.09. Not
# calibrated for texts: a text model's random twin still pools word embeddings, which alone separate many text
# classes, so text gaps read low.
RELATED, SOMEWHAT = 0.6, 0.2


def relatedness_sentence(gap: float, kind: str = "image") -> str:
    """The gap in plain words, from "a lot like" to "quite unlike"."""
    things = plain_things(kind)
    if gap >= RELATED:
        return f"Your {things} look a lot like what this model learned: its features already tell your classes apart."
    if gap >= SOMEWHAT:
        # not "a few later layers": a sentence model fine-tunes every layer (auto.WHOLE_TEXT_MODEL), which the Train
        # step then proposed beside it
        return (f"Your {things} look somewhat like what this model learned: its features help, and fine-tuning some "
                f"of its layers may help more (step 4 proposes how many).")
    if kind == "text":  # uncalibrated (below): sms_spam's 0.01-0.09 read "quite unlike" for a head at 96 %
        return (f"The words of your {things} alone already tell your classes apart: this model with random weights "
                f"does almost as well as the trained one, so the score cannot say how close your {things} are to "
                f"what it learned.")
    # "with enough": the Train step trains only the head below FEW_PER_CLASS a class, and said so beside a Model
    # step that said "fine-tuning more layers will matter" on 30 X-rays a class (read as opposite advice)
    return (f"Your {things} are quite unlike what this model learned (its features tell your classes apart little "
            f"better than random ones): with enough {things} of each class, fine-tuning more of its layers will "
            f"matter.")


def layer_scores(sample: Sample, model: str = "") -> LayerScores:
    """LogME on the pooled output of each block, and the unfreeze N the curve suggests (`suggest_unfreeze`)."""
    backbone = _backbone(model, sample, PRETRAINED)
    _check_chain(backbone)
    per_block, labels = pooled_blocks(model, sample)
    scores = [logme(reduce_dims(f), labels) for f in per_block]
    titles = [b.title for b in backbone.blocks]
    unfreeze, reason = suggest_unfreeze(titles, scores, sample.kind)
    return LayerScores(model or default_model(sample.kind).name, titles, scores, unfreeze, reason)


def pooled_features(model: str, sample: Sample, pretrained: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels) of the sample: the head's input, the last of `pooled_blocks`."""
    blocks, labels = pooled_blocks(model, sample, pretrained)
    return blocks[-1], labels


def pooled_blocks(model: str, sample: Sample, pretrained: bool = True) -> tuple[list[np.ndarray], np.ndarray]:
    """(the pooled output of each block, input side first, and the labels of the examples they cover), from one
    frozen pass per model and weights, cached. The last block's output is the head's input, so ranking a model
    also gives its per-block scores: a second, torch pass over the chosen model's blocks took 18 of a cold
    100 s `rank` of plant_tomato here (profiled). A model whose modules do not chain gives its head's input alone.
    Pictures that do not decode are left out."""
    backbone = _backbone(model, sample, PRETRAINED if pretrained else None)
    weights = "pretrained" if pretrained else f"random weights {RANDOM_SEED}"
    if sample.kind == "text":
        return block_features(backbone, sample, weights), sample.labels
    rows = _decoded_rows(decode_images(sample.examples, backbone.preprocess), sample)

    def graph(output: str) -> str | None:  # the ONNX graph's name, or torch for a few pictures
        return digest(model_key(backbone), weights, "uint8", output) if len(rows) >= ONNX_FROM else None

    if not backbone.stages:  # a hub model whose blocks do not chain: its own forward
        features = _image_pass(backbone, sample, weights, FeatureExtractor(backbone), "features", graph("features"))
        return [features.numpy()], sample.labels[rows]
    return block_features(backbone, sample, weights, graph("pooled blocks")), sample.labels[rows]


def block_features(backbone: Backbone, sample: Sample, weights: str = "", onnx: str | None = None) -> list[np.ndarray]:
    """The average-pooled output of each block for the sample (an image model's stages; a text model's embeddings
    and layers), cached under the backbone's name and `weights` (what else tells its weights apart). `onnx` names
    the graph to export and run on a CPU (None: torch)."""
    runtime = pick_runtime("auto")
    if sample.kind == "text":
        texts = [e.text for e in sample.examples]
        tokens = tokenize(texts, backbone.tokenizer, backbone.preprocess.max_length)
        key = feature_key(backbone, digest(texts, weights), runtime, "pooled after each block")
        pooled = cached_tensor(key, lambda: _text_blocks(backbone.model.encoder, tokens, runtime))
        return np.split(pooled.numpy(), len(backbone.blocks), axis=1)
    _check_chain(backbone)
    module = PooledBlocks(backbone)
    pooled = _image_pass(backbone, sample, weights, module, "pooled after each block", onnx)
    return np.split(pooled.numpy(), np.cumsum(module.widths)[:-1], axis=1)


def _check_chain(backbone: Backbone) -> None:
    if backbone.kind == "image" and not backbone.stages:
        raise ValueError(f"{backbone.name or backbone.arch} does not run as a chain of blocks, so its per-layer "
                         f"scores cannot be computed; the model ranking still works for it.")


def _image_pass(backbone: Backbone, sample: Sample, weights: str, module: torch.nn.Module, output: str,
                onnx: str | None) -> torch.Tensor:
    """`module` over the sample's decoded pictures (those that decode), cached as the backbone's `output`."""
    decoded, runtime = decode_images(sample.examples, backbone.preprocess), pick_runtime("auto")
    rows = _decoded_rows(decoded, sample)
    key = feature_key(backbone, digest(decoded.key, rows, weights), runtime, output)
    return cached_tensor(key, lambda: run_frozen(Normalized(module, backbone.preprocess),
                                                 Views(decoded.images, rows, [], "none", 0), runtime, key=onnx))


@torch.no_grad()
def _text_blocks(encoder: torch.nn.Module, tokens: Tokens, runtime, batch_size: int = 64) -> torch.Tensor:
    """(N, blocks x width): hidden states mean-pooled over real tokens, the embeddings' then each layer's; the last
    is the head's input (`TextClassifier.features`). Batches of similar length: little padding to run through."""
    encoder.eval().to(runtime.device)
    out = None
    for chunk in tokens.mask.sum(1).argsort().split(batch_size):
        ids, mask = (t.to(runtime.device) for t in trim(tokens.ids[chunk], tokens.mask[chunk]))
        with torch.inference_mode(), runtime.autocast():
            hidden = encoder(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
        weight = mask.unsqueeze(-1).float()                                     # (B, T, 1)
        pooled = torch.cat([(h.float() * weight).sum(1) / weight.sum(1).clamp(min=1) for h in hidden], 1).cpu()
        out = torch.empty(len(tokens.ids), pooled.shape[1]) if out is None else out
        out[chunk] = pooled
    return out


def _decoded_rows(decoded, sample: Sample) -> list[int]:
    """The sample's pictures that decoded (all, nearly always), as indices into the sample."""
    return [i for i in range(len(sample.examples)) if i not in decoded.failed]


def _backbone(model: str, sample: Sample, weights) -> Backbone:
    return _built(model, sample.kind, len(sample.classes), weights)


@functools.lru_cache(maxsize=4)
def _built(model: str, kind: str, classes: int, weights) -> Backbone:
    """The networks scored, kept (three models and one random twin): the cache keys of their features need the
    network, and building Lite0 (with its chain check) took 1.4 s of a 10 s `rank` on 20 pictures here."""
    torch.manual_seed(RANDOM_SEED)  # random weights: the same network every time, so its cache entries hold
    return build(model, kind, classes, weights)
