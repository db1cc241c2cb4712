"""Examples to tensors: images decoded once (and read back from the cache), views, normalisation, tokens."""
from __future__ import annotations

import pytest
import torch

from tl_core import inputs
from tl_core.data import Example
from tl_core.inputs import decode_images, normalize, tokenize, trim, views

from .conftest import photos


@pytest.fixture
def examples() -> list[Example]:
    files = photos("val", "ants", 3) + photos("val", "bees", 3)
    return [Example(label=f.parent.name, name=f.name, path=f) for f in files]


def test_decoded_images_are_cached_and_read_back_identical(examples, lite0_imagenet, workspace, monkeypatch):
    config = lite0_imagenet.preprocess
    first = decode_images(examples, config)
    assert first.images.shape == (6, 3, 224, 224) and first.images.dtype == torch.uint8 and not first.failed
    assert [p.stem for p in (workspace / "cache" / "decoded").iterdir()] == [first.key]

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again instead of reading the cache")

    monkeypatch.setattr(inputs, "read_image", no_decoding)
    again = decode_images(examples, config)
    assert again.key == first.key and torch.equal(again.images, first.images)
    monkeypatch.undo()
    assert torch.equal(decode_images(examples, config, use_cache=False).images, first.images)


def test_the_cache_key_follows_the_files_and_the_preprocessing(examples, lite0_imagenet, workspace):
    config = lite0_imagenet.preprocess
    key = decode_images(examples, config).key
    assert decode_images(examples[:5], config).key != key
    assert decode_images(examples, {**config, "crop_pct": 1.0}).key != key


def test_an_unreadable_image_is_reported_and_the_rest_decoded(examples, lite0_imagenet, workspace, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    decoded = decode_images(examples[:2] + [Example("ants", "broken.jpg", path=broken)], lite0_imagenet.preprocess)
    assert list(decoded.failed) == [2] and decoded.failed[2]
    assert decoded.images[:2].float().mean() > 0 and not decoded.images[2].any()


def test_views_are_the_image_then_its_mirror_view_major():
    images = torch.randint(0, 255, (3, 3, 8, 8), dtype=torch.uint8)
    assert torch.equal(views(images, "none", 0), images)
    light = views(images, "light", 0)
    assert light.shape == (6, 3, 8, 8)
    assert torch.equal(light[:3], images) and torch.equal(light[3:], images.flip(-1))
    strong = views(images, "strong", 0)
    assert strong.shape == (12, 3, 8, 8) and torch.equal(strong[:6], light)
    assert torch.equal(strong, views(images, "strong", 0)) and not torch.equal(strong, views(images, "strong", 1))


def test_normalize_uses_the_models_mean_and_std(lite0_imagenet):
    config = lite0_imagenet.preprocess
    images = torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)
    out = normalize(images, config)
    expected = (1 - torch.tensor(config["mean"])) / torch.tensor(config["std"])
    torch.testing.assert_close(out[0, :, 0, 0], expected)
    assert out.is_contiguous(memory_format=torch.channels_last)


def test_trim_drops_only_padding_columns(minilm):
    tokens = tokenize(["short", "a somewhat longer sentence than the first"], minilm.tokenizer, 128)
    ids, mask = trim(tokens.ids[:1], tokens.mask[:1])
    assert ids.shape[1] == int(tokens.mask[0].sum()) < tokens.ids.shape[1]
    assert mask.all()
    assert torch.equal(ids[0], tokens.ids[0, :ids.shape[1]])
