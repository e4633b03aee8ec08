"""Pictures for image-to-video: checked before anything decodes them, then fitted to the video's frame.

Shared by the bot (to check a picture someone shared before accepting it) and the job (to check it
again and prepare it), so it needs Pillow and nothing heavier: no torch, no numpy.

`check_image_bytes` reads the header first and refuses, with a sentence a person can act on, what is
not a picture, too big on disk, too many pixels (a decompression bomb: Pillow's own
`MAX_IMAGE_PIXELS` guard is turned from a warning into a refusal too), absurd in shape, or cut off.
`prepare_image` then honours the EXIF orientation, flattens transparency onto white, and scales and
centre-crops to the model's size, so nothing is stretched.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_BYTES = 20 * 2**20  # 20 MiB: more than any phone photo
DEFAULT_MAX_PIXELS = 50_000_000  # 50 MP, e.g. 8192×6144; well under Pillow's bomb limit (89 MP)
MAX_SIDE = 16_384
MIN_SIDE = 32
MAX_ASPECT = 10.0  # wider than 10:1 leaves almost nothing after cropping to a video frame
# What Pillow calls the formats we take (MPO is how Pillow names many phone JPEGs).
FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF"}
FORMAT_NAMES = "JPEG, PNG, WebP or GIF"
BACKGROUND = (255, 255, 255)  # what shows through transparent pixels
EXIF_ORIENTATION = 0x0112
WIDE_GRAY_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})  # 0-65535, not 0-255


class ImageError(ValueError):
    """A picture we won't use; the message is a polite sentence for the person who shared it."""


@dataclass(frozen=True)
class ImageFacts:
    format: str  # JPEG, PNG, WebP or GIF
    width: int  # as stored
    height: int
    mode: str  # Pillow's mode: RGB, RGBA, P, L, CMYK...
    has_alpha: bool
    orientation: int  # EXIF orientation 1-8 (1: as stored)
    frames: int  # more than 1 for an animated GIF or WebP (the first frame is used)
    size_bytes: int

    @property
    def upright_size(self) -> tuple[int, int]:
        """(width, height) once the EXIF orientation is applied (5-8 turn the picture a quarter)."""
        return (self.height, self.width) if self.orientation in (5, 6, 7, 8) else (self.width, self.height)

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6


def check_image_bytes(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_pixels: int = DEFAULT_MAX_PIXELS
) -> ImageFacts:
    """What the picture in `data` is; ImageError if it isn't one we can safely use."""
    if not data:
        raise ImageError("The file is empty, so there is no picture to animate.")
    if len(data) > max_bytes:
        raise ImageError(
            f"The picture is {_mb(len(data))} MB; I can take pictures up to {_mb(max_bytes)} MB. "
            "Please share a smaller one."
        )
    with _open(data) as image:
        facts = _facts(image, len(data))
        _check_shape(facts, max_pixels)
        try:
            image.load()  # decode now: a cut-off file fails here, not halfway through a render
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise ImageError(
                "The picture seems to be damaged or cut off, so I can't read it. Please share it again."
            ) from error
    return facts


@dataclass(frozen=True)
class PreparedImage:
    image: Image.Image  # RGB, exactly the video's size
    facts: ImageFacts  # what was shared


def prepare_image(
    source: bytes | str | Path,
    height: int,
    width: int,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """The picture as an RGB image of exactly `width`×`height`: upright, flattened, scaled to cover the
    frame and centre-cropped (never stretched). Checks it first (ImageError)."""
    return prepare(source, height, width, max_bytes=max_bytes, max_pixels=max_pixels).image


def prepare(
    source: bytes | str | Path,
    height: int,
    width: int,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> PreparedImage:
    """`prepare_image`, with the facts about the picture as shared."""
    data = _read(source, max_bytes)
    facts = check_image_bytes(data, max_bytes=max_bytes, max_pixels=max_pixels)
    with _open(data) as image:
        image.seek(0)
        upright = ImageOps.exif_transpose(image)
        flat = flatten(upright)
    fitted = ImageOps.fit(flat, (width, height), method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    return PreparedImage(fitted, facts)


def flatten(image: Image.Image) -> Image.Image:
    """RGB, with any transparency composited onto a white background."""
    if image.mode in WIDE_GRAY_MODES:
        # 16-bit grayscale (PNG): Pillow's convert("RGB") clips every value above 255 to white.
        image = image.convert("I") if image.mode != "F" else image
        image = image.point(lambda value: value / 257).convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if not has_alpha:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
    background.alpha_composite(rgba)
    return background.convert("RGB")


def _open(data: bytes) -> Image.Image:
    # Pillow only *warns* between MAX_IMAGE_PIXELS and twice that: here a warning is a refusal.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageError(
                "The picture claims to be far too many pixels to open safely. Please share a smaller one."
            ) from error
        except UnidentifiedImageError as error:
            raise ImageError(_unreadable_message(data)) from error
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise ImageError(
                "The picture seems to be damaged or cut off, so I can't read it. Please share it again."
            ) from error
    if image.format not in FORMATS:
        found = image.format or "an unknown format"
        image.close()
        raise ImageError(f"I can use {FORMAT_NAMES} pictures; this one is {found}.")
    return image


def _facts(image: Image.Image, size_bytes: int) -> ImageFacts:
    try:
        orientation = int(image.getexif().get(EXIF_ORIENTATION, 1))
    except (OSError, SyntaxError, ValueError, TypeError):
        orientation = 1  # unreadable EXIF: show the picture as stored
    width, height = image.size
    return ImageFacts(
        format=FORMATS[str(image.format)],
        width=width,
        height=height,
        mode=image.mode,
        has_alpha=image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info,
        orientation=orientation if 1 <= orientation <= 8 else 1,
        frames=int(getattr(image, "n_frames", 1)),
        size_bytes=size_bytes,
    )


def _check_shape(facts: ImageFacts, max_pixels: int) -> None:
    width, height = facts.width, facts.height
    if width * height > max_pixels:
        raise ImageError(
            f"The picture is {width}×{height} ({facts.megapixels:.0f} megapixels); I can take up to "
            f"{max_pixels / 1e6:.0f} megapixels. Please share a smaller one."
        )
    if max(width, height) > MAX_SIDE:
        raise ImageError(f"The picture is {width}×{height}; its sides must be at most {MAX_SIDE} pixels.")
    if min(width, height) < MIN_SIDE:
        raise ImageError(
            f"The picture is only {width}×{height}; I need at least {MIN_SIDE} pixels on each side."
        )
    if max(width, height) / min(width, height) > MAX_ASPECT:
        raise ImageError(
            f"The picture is {width}×{height}, too long and thin to fit a video frame. "
            "Please crop it or share another."
        )


def _unreadable_message(data: bytes) -> str:
    # iPhones share HEIC photos; saying so is kinder than "not a picture".
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc", b"ftypavif"):
        return f"HEIC and AVIF photos aren't supported yet; please share the picture as {FORMAT_NAMES}."
    return f"I couldn't open that file as a picture. I can use {FORMAT_NAMES} images."


def _read(source: bytes | str | Path, max_bytes: int) -> bytes:
    if isinstance(source, bytes):
        return source
    path = Path(source)
    try:
        size = path.stat().st_size
        if size > max_bytes:  # refuse before reading a huge file into memory
            raise ImageError(
                f"The picture is {_mb(size)} MB; I can take pictures up to {_mb(max_bytes)} MB. "
                "Please share a smaller one."
            )
        return path.read_bytes()
    except FileNotFoundError:
        raise ImageError("The picture was not found.") from None
    except OSError as error:
        raise ImageError(f"The picture could not be read ({error.strerror}).") from None


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f}".removesuffix(".0")
