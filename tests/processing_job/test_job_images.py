"""Pictures are checked before anything decodes them and fitted to the video without distortion;
a bad one ends the job with a sentence the person can act on."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from processing_job import inference
from processing_job.images import ImageError, check_image_bytes, prepare_image
from tests.processing_job.conftest import run_python


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims `width`×`height` and whose data is a few bytes: a decompression bomb's
    calling card. Nothing may decode it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


def refusal(data: bytes, **limits: int) -> str:
    with pytest.raises(ImageError) as caught:
        check_image_bytes(data, **limits)
    return str(caught.value)


def test_a_good_picture_is_described(picture_png):
    facts = check_image_bytes(picture_png)
    assert (facts.format, facts.width, facts.height, facts.orientation) == ("PNG", 320, 200, 1)
    assert facts.size_bytes == len(picture_png) and not facts.has_alpha


def test_text_is_not_a_picture():
    assert refusal(b"hello, this is not a picture") == (
        "I couldn't open that file as a picture. I can use JPEG, PNG, WebP or GIF images."
    )


def test_an_empty_file_is_refused():
    assert "The file is empty" in refusal(b"")


def test_an_iphone_heic_photo_is_named():
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    assert refusal(heic).startswith("HEIC and AVIF photos aren't supported yet")


def test_a_file_over_the_size_limit_is_refused_with_the_limit(picture_png):
    message = refusal(picture_png, max_bytes=len(picture_png) - 1)
    assert "I can take pictures up to" in message and "Please share a smaller one." in message


def test_a_cut_off_picture_is_refused(make_picture):
    jpeg = make_picture(640, 480, "JPEG", quality=95)
    assert "damaged or cut off" in refusal(jpeg[: len(jpeg) // 2])


def test_a_decompression_bomb_is_refused_before_decoding():
    # 40000×40000 is 1.6 gigapixels: over twice Pillow's MAX_IMAGE_PIXELS, which makes Pillow refuse.
    assert "far too many pixels to open safely" in refusal(png_header_claiming(40_000, 40_000))


def test_a_picture_between_pillows_warning_and_its_limit_is_refused_too():
    # 10000×10000 only makes Pillow *warn* (over MAX_IMAGE_PIXELS, under twice it): still refused.
    assert "far too many pixels" in refusal(png_header_claiming(10_000, 10_000), max_pixels=10**9)


def test_more_pixels_than_our_limit_are_refused_with_the_numbers():
    message = refusal(png_header_claiming(9000, 7000))
    assert message.startswith("The picture is 9000×7000 (63 megapixels); I can take up to 50 megapixels.")


def test_a_tiny_or_thin_picture_is_refused(make_picture):
    assert "I need at least 32 pixels" in refusal(make_picture(20, 20))
    assert "too long and thin" in refusal(make_picture(2000, 100))


def test_a_format_we_do_not_take_is_named(make_picture):
    assert (
        refusal(make_picture(64, 64, "TIFF"))
        == "I can use JPEG, PNG, WebP or GIF pictures; this one is TIFF."
    )


def test_the_picture_is_scaled_and_centre_cropped_without_distortion():
    # A 400×200 picture: a red square in the middle of white bands. Fitted into 96×96 it must stay
    # a square (cropped at the sides, not squeezed).
    picture = Image.new("RGB", (400, 200), "white")
    picture.paste((255, 0, 0), (100, 0, 300, 200))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    fitted = prepare_image(buffer.getvalue(), height=96, width=96)
    assert fitted.size == (96, 96) and fitted.mode == "RGB"
    pixels = np.asarray(fitted)
    assert (pixels[:, 2:-2, 0] > 240).all() and (pixels[:, 2:-2, 1] < 20).all()  # all red: square kept


def test_the_exif_orientation_is_honoured(make_picture):
    # Stored landscape 320×200 with orientation 6 ("rotate 90° clockwise"): it is a portrait.
    exif = Image.Exif()
    exif[0x0112] = 6
    jpeg = make_picture(320, 200, "JPEG", quality=95, exif=exif.tobytes())
    facts = check_image_bytes(jpeg)
    assert facts.orientation == 6 and facts.upright_size == (200, 320)
    fitted = np.asarray(prepare_image(jpeg, height=320, width=200), dtype=int)
    # Upright, the stored top edge (green 0) runs down the right side: green grows from right to left.
    assert fitted[160, 5, 1] > fitted[160, -5, 1] + 150
    # and the stored left edge (red 0) is now the top: red grows downwards.
    assert fitted[-5, 100, 0] > fitted[5, 100, 0] + 150


def test_transparency_is_flattened_onto_white():
    picture = Image.new("RGBA", (64, 64), (0, 0, 255, 0))  # fully transparent blue
    picture.paste((0, 0, 255, 255), (0, 0, 32, 64))  # the left half opaque
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    assert check_image_bytes(buffer.getvalue()).has_alpha
    fitted = np.asarray(prepare_image(buffer.getvalue(), height=64, width=64))
    assert fitted[32, 10].tolist() == [0, 0, 255] and fitted[32, 54].tolist() == [255, 255, 255]


def test_an_animated_gif_uses_its_first_frame():
    frames = [Image.new("RGB", (64, 64), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    assert check_image_bytes(buffer.getvalue()).frames == 2
    fitted = np.asarray(prepare_image(buffer.getvalue(), height=32, width=32))
    assert fitted[16, 16, 0] > 200 and fitted[16, 16, 1] < 50


@pytest.mark.parametrize(
    ("picture", "expected"),
    [
        (b"GIF89a not really", "I couldn't open that file as a picture."),
        (png_header_claiming(40_000, 40_000), "far too many pixels to open safely"),
    ],
)
def test_a_bad_picture_ends_the_job_with_a_sentence(picture, expected, family_spec, make_job):
    paths = make_job(family_spec("1.0 i2v"), picture=picture)
    assert inference.main(paths) == 1
    message = paths.failure_file.read_text(encoding="utf-8")
    assert message.startswith("The picture can't be used: ") and expected in message
    assert "Traceback" not in message and not paths.video_file.exists()


def test_the_image_module_needs_no_torch_or_numpy():
    script = (
        "import sys, processing_job.images\n"
        "print(sorted(m for m in ('torch', 'numpy', 'diffusers') if m in sys.modules))"
    )
    done = run_python(script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
