"""The catalogue: plain-language cards, embedded defaults that work offline, hub models that say what they need."""
from __future__ import annotations

import os

import pytest

from tl_core.config import ALL
from tl_core.models import ModelUnavailable, load_model
from tl_core.models.catalog import CATALOG, catalog, default_model, find_model, shipped_layout

SPEEDS = {"fastest", "fast", "medium", "slow"}


def test_every_entry_explains_itself_in_plain_words():
    names = [m.name for m in CATALOG]
    assert len(names) == len(set(names))
    for m in CATALOG:
        assert m.kind in ("image", "text"), m.name
        assert m.title.strip() and m.learned_from.strip() and m.hub_id.strip(), m.name
        assert m.summary.strip().endswith("."), m.name
        assert m.speed in SPEEDS, m.name
        assert m.source in ("embedded", "hub"), m.name
        assert m.params_m > 0 and m.size_mb > 0, m.name
        assert find_model(m.name) is m and find_model(m.hub_id) is m


def test_each_kind_has_one_embedded_default_that_is_available():
    assert default_model("image").name == "efficientnet_lite0"
    assert default_model("text").name == "all-MiniLM-L6-v2"
    for kind in ("image", "text"):
        defaults = [m for m in catalog(kind) if m.default]
        assert defaults == [default_model(kind)]
        assert defaults[0].source == "embedded"
        assert defaults[0].available
        assert defaults[0].availability == "available offline"


@pytest.fixture
def empty_hub_cache(tmp_path, monkeypatch):
    """A Hugging Face cache with nothing in it, whatever this machine has downloaded."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    return tmp_path / "hub"


def test_hub_models_are_not_available_before_their_download(empty_hub_cache):
    hub = [m for m in CATALOG if m.source == "hub"]
    assert {m.kind for m in hub} == {"image", "text"}
    for m in hub:
        assert not m.available, m.name
        assert m.availability == f"needs a one-time download of {m.size_mb} MB"


def test_a_downloaded_hub_model_counts_as_available(empty_hub_cache):
    info = find_model("resnet18")
    repo = empty_hub_cache / "models--timm--resnet18.a1_in1k"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "model.safetensors").write_bytes(b"weights")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    assert info.available
    assert not find_model("resnet50").available


@pytest.mark.parametrize("name, kind", [("resnet18", "image"), ("distilbert", "text")])
def test_loading_a_hub_model_offline_says_it_needs_a_one_time_download(name, kind, empty_hub_cache):
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    with pytest.raises(ModelUnavailable, match="needs a one-time download") as raised:
        load_model(name, kind, 2)
    assert find_model(name).title in str(raised.value)
    assert "available offline" in str(raised.value)  # and what to pick instead


def test_an_unknown_model_name_lists_the_choices():
    with pytest.raises(ModelUnavailable, match="Unknown model 'no-such-model'. Pick one of: efficientnet_lite0,"):
        load_model("no-such-model", "image", 2)


def test_a_text_model_for_pictures_is_refused():
    with pytest.raises(ModelUnavailable, match="model for texts, but this data holds images"):
        load_model("distilbert", "image", 2)


BUILDABLE = [m for m in CATALOG if m.kind == "image" or m.available]  # timm has every image architecture offline


def test_every_image_model_and_every_embedded_one_ships_its_layout():
    for m in CATALOG:
        if m.kind == "image" or m.source == "embedded":
            assert shipped_layout(m.name, m.kind, 2) is not None, m.name
            assert shipped_layout(m.hub_id, m.kind, 2) == shipped_layout(m.name, m.kind, 2)
    assert shipped_layout("", "text", 2) == shipped_layout("all-MiniLM-L6-v2", "text", 2)
    assert shipped_layout("resnet18", "text", 2) is None  # a model of the other kind is not drawn as one


@pytest.mark.parametrize("info", BUILDABLE, ids=lambda m: m.name)
def test_the_shipped_layout_counts_what_the_built_model_trains(info):
    """The Train page counts from the catalogue; training from the built model: each slider position agrees."""
    from torch import nn

    from tl_core.freeze import apply_plan, plan_for
    from tl_core.models.image import build_image
    from tl_core.models.layout import layout_of

    classes = 3
    built = (build_image(info, info.name, classes, weights=None) if info.kind == "image"
             else load_model(info.name, info.kind, classes, pretrained=False))
    shipped = shipped_layout(info.name, info.kind, classes)
    assert shipped == layout_of(built), f"the catalogue's layout of {info.name} should be {layout_of(built)}"
    # the only parameters outside the blocks are the new head's, (inputs + 1) per class, so any class count holds
    assert isinstance(built.head, nn.Linear) and built.head.out_features == classes
    assert shipped.head == sum(p.numel() for p in built.head.parameters())
    for unfreeze, scratch in [*((n, False) for n in range(shipped.num_blocks + 1)), (ALL, False), (0, True)]:
        plan = apply_plan(built, unfreeze, scratch)
        training = sum(p.numel() for p in built.model.parameters() if p.requires_grad)
        assert plan_for(shipped, unfreeze, scratch) == plan and plan.trainable == training, (unfreeze, scratch)
        assert plan.total == built.param_count()
