"""The feature map: every validation example as a dot, placed by what the network "sees" in it.

The head's input (the pooled features, 1280 numbers for EfficientNet-Lite0, 384 for MiniLM) is
projected onto its two main directions (PCA), so examples the network finds alike land close together.
Drawn for the pretrained network before training and for the fine-tuned one after, it shows what
transfer learning brings: if ants and bees already form two clouds before any training, the
pretrained features did most of the work and a new head only has to draw the line between them.

The separability number is leave-one-out nearest-centre accuracy: each dot is given the class whose
centre (computed without it) is closest. It is measured in the full features (what the head gets) and
in the 2-D picture (what the viewer sees), next to chance (always guessing the largest class). The
verdict and its words (`describe_separation`) follow the full features, since the picture keeps two
directions of hundreds: on 148 tomato-leaf photos (4 classes, 28 for validation) the picture gave 32 %
("mixed") where the full features gave 64 % (chance 25 %), so a verdict read off the picture
understated what the head gets.

A run that trained only the head leaves the network as it was, so it has no "after" map: the map
would be the same picture again.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .. import run_files
from ..config import RunConfig
from ..device import pick_runtime
from ..inputs import Normalized, decode_images, tokenize
from ..rundata import RunData, open_run_data
from ..workspace import digest
from ._source import Source, Subject, subject

SEPARATE = 0.75   # share of the way from chance to perfect at which the classes "already separate"
PARTLY = 0.35     # ... and at which they "partly separate"


def feature_map(source: Source, inputs, labels: list, names: list[str] | None = None,
                method: str = "pca", cache_key: str | None = None, start: str = "") -> dict:
    """2-D map of the pooled features of `inputs` (pictures as uint8 (N, 3, H, W) or files; texts as strings).

    Returns x, y (one per input), labels, names, explained_variance (share of the variance along each
    axis; None for UMAP), separability (2-D), separability_full, dimensions, chance, start, and from
    `describe_separation`: verdict ("separate" | "partly" | "mixed"), headline and summary. `start` says whose
    features these are ("pretrained", "random" or "trained"). `cache_key` names these inputs and weights
    in the engine's feature cache, so redrawing the same map skips the forward pass.
    """
    if len(inputs) != len(labels):
        raise ValueError(f"Got {len(inputs)} inputs but {len(labels)} labels; give one label per input.")
    if len(inputs) < 3:
        raise ValueError("A feature map needs at least 3 examples.")
    s = subject(source)
    feats = _cached_features(s, inputs, cache_key)                                  # (N, D)
    coords, explained = _project(feats, method)                                     # (N, 2)
    classes = sorted({str(label) for label in labels})
    index = torch.tensor([classes.index(str(label)) for label in labels])
    sep2, sep_full = nearest_centre_accuracy(coords, index), nearest_centre_accuracy(feats, index)
    chance = float(torch.bincount(index).max()) / len(index)
    return {
        "x": coords[:, 0].tolist(), "y": coords[:, 1].tolist(), "labels": [str(label) for label in labels],
        "names": list(names) if names is not None else None, "explained_variance": explained,
        "separability": sep2, "separability_full": sep_full, "dimensions": feats.shape[1], "chance": chance,
        "start": start, **describe_separation(sep_full, sep2, chance, feats.shape[1], start),
    }


def feature_map_before(config: RunConfig, data: RunData | None = None) -> dict:
    """The map a run with these settings starts from: the pretrained network (random weights from scratch).

    `data` is the run's data when the caller has it open already (`open_run_data(config)` otherwise)."""
    from ..models import load_model

    data = data or open_run_data(config)
    dataset, val_idx = data.dataset, data.val_idx
    torch.manual_seed(config.seed)  # from scratch: the same random start the run gets
    base = load_model(config.model, dataset.kind, len(dataset.classes), pretrained=not config.from_scratch)
    start = "random" if config.from_scratch else "pretrained"
    key = None if config.from_scratch else digest(base.name, base.arch, "explain-before")
    return _map_for(base, dataset, val_idx, key, start)


def feature_map_after(run, data: RunData | None = None) -> dict:
    """The map of a finished run's own model, on the same validation examples."""
    from ..checkpoint import load_trained

    config, folder = resolve(run)
    data = data or open_run_data(config)
    dataset, val_idx = data.dataset, data.val_idx
    weights = folder / run_files.WEIGHTS
    if not weights.exists():
        raise ValueError(f"Run {folder.name} has no trained model yet; the 'after' map needs one.")
    stat = weights.stat()
    return _map_for(load_trained(folder), dataset, val_idx, digest(str(folder), stat.st_size, stat.st_mtime_ns),
                    "trained")


def feature_maps_for_run(run) -> dict[str, dict | None]:
    """{"before": ..., "after": ...} for one run: what training changed in how examples are seen.

    "after" is None for a run that trained only the head: its network did not change, so neither did the map.
    """
    config, folder = resolve(run)
    head_only = config.unfreeze == 0 and not config.from_scratch
    data = open_run_data(config)  # read once for both maps
    return {"before": feature_map_before(config, data),
            "after": None if head_only else feature_map_after(folder, data)}


def describe_separation(separability_full: float, separability: float, chance: float, dimensions: int,
             start: str = "") -> dict[str, str]:
    """The verdict, a headline and a sentence, all read off the numbers: how far the full features' nearest-centre
    accuracy is from chance towards perfect, and what the flat picture shows next to it."""
    verdict = _verdict(separability_full, chance)
    whose = {"pretrained": "the pretrained features", "random": "random weights' features",
             "trained": "your trained model's features"}.get(start, "the features")
    headline = {"separate": f"Yes: {whose} already tell the classes apart",
                "partly": f"Partly: {whose} tell the classes apart only in part",
                "mixed": f"Not yet: {whose} do not tell the classes apart"}[verdict]
    said = {"separate": "The classes form separate groups", "partly": "The classes partly separate",
            "mixed": ("The classes are mixed together" if separability_full > chance
                      else "The classes are mixed together, no better than guessing")}[verdict]
    numbers = (f"sorting each example by the nearest class centre gets {separability_full:.0%} right in the "
               f"{dimensions} numbers the head reads (guessing would get {chance:.0%})")
    if _verdict(separability, chance) == verdict:
        picture = f", and {separability:.0%} in this picture."
    elif separability < separability_full:
        picture = (f". This picture keeps only 2 of those {dimensions} directions and gets {separability:.0%}, so "
                   "the clouds overlap here more than they do for the head.")
    else:
        picture = (f". This picture keeps only 2 of those {dimensions} directions and gets {separability:.0%}, so "
                   "the clouds look further apart here than they are for the head.")
    return {"verdict": verdict, "headline": headline, "summary": f"{said}: {numbers}{picture}"}


def nearest_centre_accuracy(points: torch.Tensor, labels: torch.Tensor) -> float:
    """Leave-one-out nearest-centre accuracy: each point's class is the closest centre of the others."""
    points = points.double()
    counts = torch.bincount(labels).double()                                        # (C,)
    sums = torch.zeros(len(counts), points.shape[1], dtype=points.dtype).index_add_(0, labels, points)
    dist = torch.cdist(points, sums / counts.clamp(min=1).unsqueeze(1))             # (N, C)
    rest = (counts[labels] - 1).unsqueeze(1)                                        # (N, 1): others in own class
    own = (sums[labels] - points) / rest.clamp(min=1)                               # own centre without the point
    own_dist = torch.where(rest[:, 0] > 0, (points - own).norm(dim=1), torch.full_like(rest[:, 0], float("inf")))
    dist[torch.arange(len(labels)), labels] = own_dist
    dist[:, counts == 0] = float("inf")
    return float((dist.argmin(1) == labels).double().mean())


# ---------------------------------------------------------------- internals

def _features(s: Subject, inputs) -> torch.Tensor:
    """Pooled features through the engine's own frozen-forward paths."""
    from ..features import FeatureExtractor, text_features
    from ..runtime import run_frozen

    runtime = pick_runtime("auto")
    b = s.backbone
    if s.kind == "text":
        tokens = tokenize([str(t) for t in inputs], b.tokenizer, b.preprocess.max_length)
        return text_features(b.model, tokens, tokens.mask.sum(1), runtime)
    images = s.image_batch(inputs)
    return run_frozen(Normalized(FeatureExtractor(b), b.preprocess), images, runtime, key=None)


def _cached_features(s: Subject, inputs, cache_key: str | None) -> torch.Tensor:
    if cache_key is None:
        return _features(s, inputs).float()
    from ..features import cached_tensor

    return cached_tensor(digest(cache_key, "explain-features"), lambda: _features(s, inputs)).float()


def _project(feats: torch.Tensor, method: str) -> tuple[torch.Tensor, list[float] | None]:
    if method == "umap":
        try:
            import umap
        except ImportError:
            raise ValueError("UMAP is not installed here; use method='pca' (the default).") from None
        coords = umap.UMAP(n_components=2, random_state=0).fit_transform(feats.numpy())
        return torch.as_tensor(coords, dtype=torch.float32), None
    if method != "pca":
        raise ValueError(f"Unknown method '{method}'; use 'pca' (or 'umap' when it is installed).")
    centred = feats.double() - feats.double().mean(0)                               # (N, D)
    u, s, _ = torch.linalg.svd(centred, full_matrices=False)                        # exact: N and D are small
    coords = u[:, :2] * s[:2]                                                       # (N, <=2)
    coords = coords * torch.where(coords.sum(0) >= 0, 1.0, -1.0).to(coords)         # a fixed orientation per axis
    coords = torch.nn.functional.pad(coords, (0, 2 - coords.shape[1]))              # 2 examples give 1 axis
    variance = s.pow(2)
    explained = (variance[:2] / variance.sum().clamp(min=1e-12)).tolist()
    return coords.float(), explained + [0.0] * (2 - len(explained))


def _verdict(separability: float, chance: float) -> str:
    gain = (separability - chance) / max(1 - chance, 1e-9)
    return "separate" if gain >= SEPARATE else "partly" if gain >= PARTLY else "mixed"


def _map_for(source, dataset, val_idx: list[int], key: str | None, start: str) -> dict:
    s = subject(source)
    if dataset.kind == "text":
        keep = val_idx
        inputs = [dataset.examples[i].text for i in keep]
        key = key and digest(key, inputs)
    else:  # decode every example, as training does, so this reads training's decoded cache
        decoded = decode_images(dataset.examples, s.backbone.preprocess)
        keep = [i for i in val_idx if i not in decoded.failed]
        inputs = decoded.images[keep]
        key = key and digest(key, decoded.key, keep)
    labels = [dataset.examples[i].label for i in keep]
    names = [dataset.examples[i].name for i in keep]
    return feature_map(s.backbone, inputs, labels, names, cache_key=key, start=start)


def resolve(source) -> tuple[RunConfig, Path | None]:
    """(config, run folder) for a RunConfig (no folder) or a run (a Run, its id or folder). A run's config is the one
    it trained with: an automatic model or block count replaced by its choice (`Run.trained_config`)."""
    if isinstance(source, RunConfig):
        return source, None
    from ..runs import Run

    folder = _run_folder(source)
    return Run(folder).trained_config, folder


def _run_folder(run) -> Path:
    from ..runs import Run, get_run

    if isinstance(run, Run):
        return run.dir
    path = Path(run).expanduser()
    if (path / run_files.CONFIG).exists():
        return path
    return get_run(str(run)).dir
