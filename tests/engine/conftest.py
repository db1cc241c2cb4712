"""Fixtures for the engine tests: small subsets of the real data (symlinks, read in place), a workspace
whose caches are shared across tests, and the embedded models loaded once per session."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATASETS = REPO / ".." / "shared" / "datasets"
HYMENOPTERA = DATASETS / "hymenoptera_data"
YELP = DATASETS / "sentences" / "yelp_labelled.txt"
CLI = Path(sys.executable).parent / "transferlab"

IMAGENET_BEE, IMAGENET_ANT = 309, 310  # ImageNet class ids


def photos(split: str, cls: str, n: int | None = None) -> list[Path]:
    """The first n photos of hymenoptera_data/<split>/<cls>, by name."""
    found = sorted((HYMENOPTERA / split / cls).glob("*.jpg"))
    assert found, f"no photos in {HYMENOPTERA / split / cls}: the shared datasets must sit beside the repository"
    return found[:n]


def link_photos(root: Path, layout: dict[str, dict[str, int]]) -> Path:
    """root/<split>/<class>/ holding symlinks to the first n originals: {"train": {"ants": 20}, ...}."""
    for split, counts in layout.items():
        for cls, n in counts.items():
            folder = root / split / cls
            folder.mkdir(parents=True)
            for source in photos(split, cls, n):
                (folder / source.name).symlink_to(source.resolve())
    return root


def from_start(events: list[dict]) -> list[dict]:
    """The events from `started` on. Before it come only `preparing` (ranking the models, reading pictures, the
    frozen network's pass, each with text and, when counted, done <= total) and `note` events; a run refused at once
    has none of them."""
    start = next((i for i, e in enumerate(events) if e["event"] not in ("preparing", "note")), len(events))
    for event in events[:start]:
        if event["event"] == "preparing":
            assert event["text"] and 0 <= event.get("done", 0) <= event.get("total", 0), event
    return events[start:]


def wait_for(predicate, timeout: float, what: str, every: float = 0.1):
    """Poll until predicate() is truthy and return its value; fail naming `what` after `timeout` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.fixture(scope="session")
def image_subset(tmp_path_factory) -> Path:
    """hymenoptera with train/ 20 + 20 and val/ 15 + 15 photos (ants, bees)."""
    return link_photos(tmp_path_factory.mktemp("hymenoptera-subset"),
                       {"train": {"ants": 20, "bees": 20}, "val": {"ants": 15, "bees": 15}})


@pytest.fixture(scope="session")
def yelp_subset(tmp_path_factory) -> Path:
    """200 lines of yelp_labelled.txt, 100 per label, in the original's format (sentence<TAB>label)."""
    lines = [line for line in YELP.read_text().splitlines() if line.strip()]
    good = [line for line in lines if line.endswith("\t1")][:100]
    bad = [line for line in lines if line.endswith("\t0")][:100]
    path = tmp_path_factory.mktemp("yelp-subset") / "yelp_200.txt"
    path.write_text("\n".join(line for pair in zip(good, bad) for line in pair) + "\n")
    return path


@pytest.fixture(scope="session")
def warm_home(tmp_path_factory) -> Path:
    """One workspace for the whole session, so decoded images and frozen features are computed once."""
    return tmp_path_factory.mktemp("transferlab-warm-home")


@pytest.fixture
def warm_workspace(warm_home, monkeypatch) -> Path:
    """TRANSFERLAB_HOME = the session's shared workspace (for tests that do not care what is cached)."""
    monkeypatch.setenv("TRANSFERLAB_HOME", str(warm_home))
    return warm_home


@pytest.fixture(scope="session")
def lite0_imagenet():
    """The embedded EfficientNet-Lite0 with its ImageNet classifier kept."""
    from tl_core.models import load_model

    return load_model("", "image", None)


@pytest.fixture(scope="session")
def val_photos(lite0_imagenet, warm_home):
    """(uint8 images (40, 3, 224, 224), labels): the first 20 val ants, then the first 20 val bees."""
    from tl_core.data import Example
    from tl_core.inputs import decode_images

    files = photos("val", "ants", 20) + photos("val", "bees", 20)
    examples = [Example(label=f.parent.name, name=f.name, path=f) for f in files]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRANSFERLAB_HOME", str(warm_home))
        decoded = decode_images(examples, lite0_imagenet.preprocess, use_cache=False)
    assert not decoded.failed
    return decoded.images, [e.label for e in examples]


@pytest.fixture(scope="session")
def imagenet_logits(lite0_imagenet, val_photos):
    """float32 ImageNet logits of val_photos: the plain reference the fast paths are compared with."""
    import torch

    from tl_core.inputs import normalize

    with torch.no_grad():
        return lite0_imagenet.model.eval()(normalize(val_photos[0], lite0_imagenet.preprocess))


@pytest.fixture(scope="session")
def minilm():
    """The embedded MiniLM-L6 with a new two-class head."""
    from tl_core.models import load_model

    return load_model("", "text", 2)


@pytest.fixture(scope="session")
def image_run(warm_home, image_subset, train_run):
    """A finished head-only run on the image subset, in the shared workspace (as `transferlab train` makes it)."""
    from tl_core.config import RunConfig

    return train_run(warm_home, RunConfig(data=str(image_subset), epochs=3, name="ants or bees"))


@pytest.fixture(scope="session")
def text_run(warm_home, yelp_subset, train_run):
    """A finished head-only run on the yelp subset, in the shared workspace."""
    from tl_core.config import RunConfig

    return train_run(warm_home, RunConfig(data=str(yelp_subset), epochs=5, name="reviews"))


@pytest.fixture(scope="session")
def image_export(image_run, warm_home, tmp_path_factory) -> Path:
    """image_run exported to a zip, with its ONNX copy."""
    from tl_core.export import export_run

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRANSFERLAB_HOME", str(warm_home))
        return export_run(image_run, tmp_path_factory.mktemp("export") / "ants-bees.zip")
