"""Examples to tensors: images decoded once (and read back from the cache), views, normalisation, tokens."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from tl_core import inputs
from tl_core.data import Example
from tl_core.inputs import Views, decode_images, normalize, tokenize, trim

from .conftest import photos


@pytest.fixture
def examples() -> list[Example]:
    files = photos("val", "ants", 3) + photos("val", "bees", 3)
    return [Example(label=f.parent.name, name=f.name, path=f) for f in files]


def test_decoded_images_are_cached_and_read_back_identical(examples, lite0_imagenet, workspace, monkeypatch):
    config = lite0_imagenet.preprocess
    first = decode_images(examples, config)
    assert first.images.shape == (6, 3, 224, 224) and first.images.dtype == torch.uint8 and not first.failed
    assert sorted(p.name for p in (workspace / "cache" / "decoded").iterdir()) == [f"{first.key}.failed.json",
                                                                                   f"{first.key}.npy"]

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
    assert decode_images(examples, dataclasses.replace(config, crop_pct=1.0)).key != key


def test_an_unreadable_image_is_reported_and_the_rest_decoded(examples, lite0_imagenet, workspace, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    decoded = decode_images(examples[:2] + [Example("ants", "broken.jpg", path=broken)], lite0_imagenet.preprocess)
    assert list(decoded.failed) == [2] and decoded.failed[2]
    assert decoded.images[:2].float().mean() > 0 and not decoded.images[2].any()


def test_views_are_the_image_then_its_mirror_view_major_then_val():
    images = torch.randint(0, 255, (5, 3, 8, 8), dtype=torch.uint8)
    train, val = [3, 0, 1], [4, 2]
    assert torch.equal(Views(images, train, val, "none", 0)[:], images[train + val])
    light = Views(images, train, val, "light", 0)
    assert len(light) == 8
    assert torch.equal(light[:], torch.cat([images[train], images[train].flip(-1), images[val]]))
    assert torch.equal(torch.cat([light[0:3], light[3:8]]), light[:])  # batches cut anywhere agree
    strong = Views(images, train, val, "strong", 0)
    assert len(strong) == 14 and torch.equal(strong[:6], light[:6]) and torch.equal(strong[12:], images[val])
    assert torch.equal(strong[:], Views(images, train, val, "strong", 0)[:])
    assert torch.equal(strong[7:9], strong[:][7:9])
    assert not torch.equal(strong[:], Views(images, train, val, "strong", 1)[:])


def test_cached_pixels_are_memory_mapped_not_held(examples, lite0_imagenet, workspace):
    """Large datasets rely on this: the decoded pixels are pages of a file the OS can drop, not process memory."""
    decode_images(examples, lite0_imagenet.preprocess)
    again = decode_images(examples, lite0_imagenet.preprocess)
    storage = again.images.untyped_storage()
    mapped = [line for line in open("/proc/self/maps") if ".npy" in line and "decoded" in line]
    assert mapped and not storage.resizable()


def test_a_damaged_cache_entry_is_decoded_again(examples, lite0_imagenet, workspace):
    first = decode_images(examples, lite0_imagenet.preprocess)
    expected = first.images.clone()
    entry = workspace / "cache" / "decoded" / f"{first.key}.npy"
    entry.unlink()  # a new file, as the cache writes them: truncating a mapped file in place would crash
    entry.write_bytes(b"not an array")
    assert torch.equal(decode_images(examples, lite0_imagenet.preprocess).images, expected)


def test_normalize_uses_the_models_mean_and_std(lite0_imagenet):
    config = lite0_imagenet.preprocess
    images = torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)
    out = normalize(images, config)
    expected = (1 - torch.tensor(config.mean)) / torch.tensor(config.std)
    torch.testing.assert_close(out[0, :, 0, 0], expected)
    assert out.is_contiguous(memory_format=torch.channels_last)


def test_trim_drops_only_padding_columns(minilm):
    tokens = tokenize(["short", "a somewhat longer sentence than the first"], minilm.tokenizer, 128)
    ids, mask = trim(tokens.ids[:1], tokens.mask[:1])
    assert ids.shape[1] == int(tokens.mask[0].sum()) < tokens.ids.shape[1]
    assert mask.all()
    assert torch.equal(ids[0], tokens.ids[0, :ids.shape[1]])


def test_a_long_frozen_pass_over_views_does_not_grow_memory(tmp_path):
    """20 000 pictures are 36 000 views: glibc's default heap kept growing by tens of kB per view."""
    import numpy as np

    from tl_core.runtime import freed_batches_go_back_to_the_os

    def anonymous_mb() -> int:
        return next(int(line.split()[1]) // 1024 for line in open("/proc/self/status") if line.startswith("RssAnon"))

    path = tmp_path / "pixels.npy"
    np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(2000, 3, 224, 224)).flush()
    views = Views(torch.from_numpy(np.load(path, mmap_mode="c")), list(range(1600)), list(range(1600, 2000)), "light", 0)
    with freed_batches_go_back_to_the_os():
        means = [views[s:s + 64].float().mean() for s in range(0, len(views), 64)]  # the first pass sizes the heap
        before = anonymous_mb()
        for _ in range(3):
            means += [views[s:s + 64].float().mean() for s in range(0, len(views), 64)]
        assert anonymous_mb() - before < 100  # measured: +0 MB; +140 MB without it
