"""read_image and the cheap check: every odd picture a user may hold, and every non-picture."""

from __future__ import annotations

import io
import subprocess
import sys
import time
import zlib

import pytest
from PIL import Image

from tl_core.data import DataError, read_image
from tl_core.data.images import ImageError, check_image, undecodable_pictures

from datakit import REPO, encode, noise_jpeg, png, png_bomb


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return png_bomb(30000)


def _reason(source) -> str:
    with pytest.raises(ImageError) as caught:
        read_image(source)
    assert isinstance(caught.value, DataError)
    return caught.value.reason


def test_plain_jpeg_is_rgb_and_same_size():
    im = read_image(encode("JPEG", size=(40, 30)))
    assert (im.mode, im.size) == ("RGB", (40, 30))


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "file is empty"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "not an image (looks like a PDF)"),
        (b"Dear diary, today I renamed a text file to .jpg", "not an image (looks like text)"),
        (b"<!DOCTYPE html><html><body>404</body></html>", "not an image (looks like a web page, HTML)"),
        (b"\x00\x01\x02\x03garbage", "not an image (unknown file format)"),
    ],
)
def test_non_images_are_named(data, reason):
    assert _reason(data) == reason


def test_empty_file_on_disk(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"")
    assert _reason(path) == "file is empty"
    with pytest.raises(ImageError, match="file is empty"):
        check_image(path)


def test_truncated_jpeg_is_refused_when_decoded():
    data = noise_jpeg()
    assert _reason(data[: len(data) // 2]) == "image is damaged (truncated)"


def test_truncated_png_fails_even_the_cheap_check():
    data = encode("PNG", size=(64, 64))
    with pytest.raises(ImageError, match="damaged"):
        check_image(data[: len(data) - 20])


def test_decompression_bomb_is_refused_fast_before_decoding(bomb):
    assert len(bomb) < 200_000
    started = time.perf_counter()
    reason = _reason(bomb)
    assert time.perf_counter() - started < 0.5
    assert reason == "picture too large (900 megapixels; the limit is 80 megapixels)"
    with pytest.raises(ImageError, match="too large"):
        check_image(bomb)


def test_picture_over_our_limit_but_under_pillows_is_refused():
    # 90 MP: Pillow only warns (its error starts at ~179 MP), so this is our own check at work.
    header_only = png(10000, 9000, 8, 2, zlib.compress(b""))
    assert _reason(header_only) == "picture too large (10,000×9,000 px; the limit is 80 megapixels)"


def test_bomb_memory_stays_bounded_in_a_fresh_process(bomb):
    # Decoding would fill 900 MB (one byte per pixel); the refusal must stay far below that.
    script = (
        "import resource, sys; from tl_core.data import read_image, DataError\n"
        "data = sys.stdin.buffer.read()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try: read_image(data)\n"
        "except DataError: pass\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], input=bomb, capture_output=True, cwd=REPO,
                          check=True, timeout=60)
    assert int(done.stdout) < 50_000  # KiB


def test_cmyk_jpeg_becomes_rgb_with_the_right_colour():
    im = read_image(encode("JPEG", "CMYK", (16, 16), (0, 255, 255, 0)))  # cyan 0, magenta+yellow full: red
    r, g, b = im.getpixel((8, 8))
    assert im.mode == "RGB" and r > 200 and g < 60 and b < 60


def test_16_bit_png_is_scaled_not_clipped():
    source = Image.new("I;16", (4, 4), 32768)  # mid grey in 16 bits
    stream = io.BytesIO()
    source.save(stream, "PNG")
    im = read_image(stream.getvalue())
    assert im.mode == "RGB" and abs(im.getpixel((0, 0))[0] - 128) <= 1


def test_rgba_transparency_is_shown_on_white():
    im = read_image(encode("PNG", "RGBA", (4, 4), (255, 0, 0, 0)))
    assert im.getpixel((0, 0)) == (255, 255, 255)


def test_palette_png_with_transparent_index_is_shown_on_white():
    source = Image.new("P", (4, 4), 1)
    source.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    source.putpixel((0, 0), 0)
    stream = io.BytesIO()
    source.save(stream, "PNG", transparency=0)
    im = read_image(stream.getvalue())
    assert im.getpixel((0, 0)) == (255, 255, 255) and im.getpixel((1, 1)) == (255, 0, 0)


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    stream = io.BytesIO()
    frames[0].save(stream, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    r, g, b = read_image(stream.getvalue()).getpixel((4, 4))
    assert r > 200 and b < 60


def test_exif_orientation_is_applied():
    source = Image.new("RGB", (40, 20), (255, 0, 0))
    source.paste((0, 0, 255), (20, 0, 40, 20))  # left red, right blue
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise: the left edge ends up on top
    stream = io.BytesIO()
    source.save(stream, "JPEG", exif=exif.tobytes())
    im = read_image(stream.getvalue())
    assert im.size == (20, 40)
    top, bottom = im.getpixel((10, 5)), im.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60 and bottom[2] > 200 and bottom[0] < 60


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF"])
def test_one_pixel_images_in_every_format(fmt):
    im = read_image(encode(fmt, size=(1, 1)))
    assert (im.mode, im.size) == ("RGB", (1, 1))


@pytest.fixture(scope="module")
def huge_photo() -> bytes:
    return encode("JPEG", size=(6000, 4000), quality=50)


def test_huge_photo_is_downscaled_to_1024_short_side(huge_photo):
    assert read_image(huge_photo).size == (1536, 1024)


def test_draft_decodes_smaller_but_not_below_the_asked_size(huge_photo):
    im = read_image(huge_photo, draft_size=224)
    assert min(im.size) >= 224 and im.size == (750, 500)  # JPEG's 1/8 scale


def test_missing_file(tmp_path):
    assert _reason(tmp_path / "nope.jpg") == "file not found"


def test_message_is_a_sentence():
    with pytest.raises(DataError) as caught:
        read_image(b"%PDF-1.4")
    assert str(caught.value).startswith("This picture cannot be used: not an image (looks like a PDF)")


def test_undecodable_pictures_finds_cut_off_jpegs_that_pass_the_cheap_check(tmp_path):
    whole = noise_jpeg()
    files = {"good.jpg": whole, "cut.jpg": whole[: len(whole) // 2], "notes.txt": b"hello",
             "broken.png": encode("PNG", size=(64, 64))[:-20]}
    paths = [tmp_path / name for name in files]
    for path, data in zip(paths, files.values()):
        path.write_bytes(data)
    check_image(tmp_path / "cut.jpg")  # the report would count it
    # Only the cut JPEG: the text file and the damaged PNG are refused by the quick check, which the report lists.
    assert undecodable_pictures(paths) == [(tmp_path / "cut.jpg", "image is damaged (truncated)")]
