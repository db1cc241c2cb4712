"""The three training paths train the same model a plain full forward would: compare each fast path's
logits with the model's own forward on the same weights."""
from __future__ import annotations

import pytest
import torch

from tl_core import events
from tl_core.config import RunConfig
from tl_core.data import load_dataset, split
from tl_core.device import Runtime
from tl_core.freeze import apply_plan
from tl_core.inputs import decode_images, normalize, tokenize
from tl_core.models import load_model
from tl_core.task import TrainingPath
from tl_core.tasks import build_task

FLOAT32_CPU = Runtime(torch.device("cpu"), None)


def _task(data, unfreeze: int, kind: str, **settings):
    config = RunConfig(data=str(data), unfreeze=unfreeze, **settings)
    dataset = load_dataset(data)
    train_idx, val_idx = split(dataset)
    backbone = load_model("", kind, len(dataset.classes))
    plan = apply_plan(backbone, unfreeze)
    task = build_task(config, dataset, train_idx, val_idx, backbone, plan, FLOAT32_CPU, events.ignore)
    task.module.eval()
    backbone.model.eval()
    return task, backbone, dataset, train_idx, val_idx


@pytest.mark.parametrize("unfreeze, path", [(0, TrainingPath.CACHED_FEATURES), (2, TrainingPath.CACHED_PREFIX)])
def test_image_fast_paths_match_a_full_forward(unfreeze, path, image_subset, warm_workspace):
    task, backbone, dataset, train_idx, val_idx = _task(image_subset, unfreeze, "image")
    assert task.path == path
    val_images = decode_images([dataset.examples[i] for i in val_idx], backbone.preprocess, use_cache=False).images
    some = [0, 7, 21]  # and a few training photos, whose second view is their mirror image
    train_images = decode_images([dataset.examples[train_idx[i]] for i in some], backbone.preprocess,
                                 use_cache=False).images
    n = len(train_idx)
    with torch.no_grad():
        fast_val = task.forward(task.val_inputs, False)
        plain_val = backbone.model(normalize(val_images, backbone.preprocess))
        fast_train = task.forward(tuple(t[some + [n + i for i in some]] for t in task.train_inputs), False)
        plain_train = backbone.model(normalize(torch.cat([train_images, train_images.flip(-1)]), backbone.preprocess))
    assert (fast_val - plain_val).abs().max() < 1e-3
    assert torch.equal(fast_val.argmax(1), plain_val.argmax(1))
    assert (fast_train - plain_train).abs().max() < 1e-3
    assert torch.equal(task.train_labels[some + [n + i for i in some]], task.train_labels[some].repeat(2))


def test_text_cached_features_match_a_full_forward(yelp_subset, workspace):
    """In a fresh workspace: the shared one may hold features a bfloat16 run cached (the cache key does
    not record the precision), which differ from float32 by ~2e-3."""
    task, backbone, dataset, _, val_idx = _task(yelp_subset, 0, "text")
    assert task.path == TrainingPath.CACHED_FEATURES
    tokens = tokenize([dataset.examples[i].text for i in val_idx], backbone.tokenizer, 128)  # padded as one batch
    with torch.no_grad():
        fast = task.forward(task.val_inputs, False)
        plain = backbone.model(tokens.ids, tokens.mask)
    assert (fast - plain).abs().max() < 1e-4


def test_full_network_path_is_the_model_itself(image_subset, warm_workspace):
    task, backbone, dataset, _, val_idx = _task(image_subset, -1, "image")
    assert task.path == TrainingPath.FULL_NETWORK and task.module is backbone.model
    assert all(p.requires_grad for p in task.module.parameters())
    with torch.no_grad():
        torch.testing.assert_close(task.forward((task.val_inputs[0][:4],), False),
                                   backbone.model(normalize(task.val_inputs[0][:4], backbone.preprocess)))


def test_automatic_batch_size_is_16_to_fine_tune_text_and_32_otherwise(yelp_subset, warm_workspace):
    assert _task(yelp_subset, -1, "text")[0].batch_size == 16
    assert _task(yelp_subset, 0, "text")[0].batch_size == 32
    assert _task(yelp_subset, -1, "text", batch_size=8)[0].batch_size == 8  # a person's choice wins


def test_the_started_event_names_the_path_as_before(image_subset, warm_workspace):
    """Run folders and pages read the plain words; the typed name must not change them."""
    task = _task(image_subset, 0, "image")[0]
    assert task.describe()["path"] == "cached features" and type(task.describe()["path"]) is str
    assert [p.value for p in TrainingPath] == ["cached features", "cached prefix", "full network"]
