"""Videos people share (for video-to-video, extend, join): checked before any frame is decoded, then
read as frames fitted to the model's size.

`check_video` mirrors `images.check_image_bytes`: it refuses, with a sentence a person can act on,
what is empty or too big on disk, what is not a video container we take (MP4/MOV, WebM/Matroska,
GIF: recognised by their magic bytes, not by the name), what ffmpeg can't open (corrupt, cut off),
and what is too long, too many pixels a frame, absurd in shape or frame rate, or has no frames. The
facts come from `ffmpeg -i` (the imageio-ffmpeg wheel ships no ffprobe) and the frames are counted by
copying the stream's packets to ffmpeg's null muxer, which reads the container but decodes nothing.
Those bounds together are the decompression limit: at most max_pixels × MAX_FPS × max_seconds
pixels can ever come out of a video that passes.

`read_frames` then decodes with ffmpeg, streaming: scale to cover the model's frame and centre-crop
(never stretch), convert the frame rate if asked, stop after `max_frames`. Only the frames asked for
are ever held, at the model's size.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from processing_job.export import FFMPEG_TIMEOUT_S, ffmpeg_exe

if TYPE_CHECKING:
    from PIL import Image

DEFAULT_MAX_BYTES = 200 * 2**20  # 200 MiB: a minute of phone video
DEFAULT_MAX_SECONDS = 60.0
DEFAULT_MAX_PIXELS = 3840 * 2160  # 4K UHD a frame
MAX_SIDE = 8192
MIN_SIDE = 16
MAX_ASPECT = 10.0
MAX_FPS = 240.0  # slow-motion phone video; a header claiming more is not a real recording
HEADER_BYTES = 64
CONTAINERS = "MP4, MOV, WebM, MKV or GIF"
# ftyp brands that are still pictures (HEIC/AVIF photos), not videos.
PICTURE_BRANDS = (b"heic", b"heix", b"mif1", b"msf1", b"avif", b"hevc")


class VideoInputError(ValueError):
    """A video we won't use; the message is a polite sentence for the person who shared it."""


@dataclass(frozen=True)
class VideoInput:
    width: int
    height: int
    fps: float
    frame_count: int
    duration_s: float
    codec: str  # as ffmpeg names it: h264, hevc, vp9, av1, gif...
    container: str  # mp4 (also MOV), webm (also Matroska), gif


def check_video(path: Path, *, max_seconds: float, max_pixels: int, max_bytes: int) -> VideoInput:
    """What the video at `path` is; VideoInputError if it isn't one we can safely decode."""
    # 1. The file: present, not empty, not too big (nothing read yet).
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise VideoInputError("The video was not found.") from None
    if not path.is_file():
        raise VideoInputError("The video was not found.")
    if size == 0:
        raise VideoInputError("The file is empty, so there is no video to use.")
    if size > max_bytes:
        raise VideoInputError(
            f"The video is {_mb(size)} MB; I can take videos up to {_mb(max_bytes)} MB. "
            "Please share a shorter or smaller one."
        )
    # 2. The container, by its magic bytes.
    with open(path, "rb") as file:
        container = container_of(file.read(HEADER_BYTES))
    # 3. What ffmpeg reads from the header.
    header = _describe(path)
    # 4. Shape and rate, before counting anything.
    width, height, fps = header.width, header.height, header.fps
    if width * height > max_pixels:
        raise VideoInputError(
            f"The video is {width}×{height} ({width * height / 1e6:.1f} megapixels a frame); I can take "
            f"up to {max_pixels / 1e6:.1f} megapixels. Please share a smaller one."
        )
    if max(width, height) > MAX_SIDE:
        raise VideoInputError(f"The video is {width}×{height}; its sides must be at most {MAX_SIDE} pixels.")
    if min(width, height) < MIN_SIDE:
        raise VideoInputError(
            f"The video is only {width}×{height}; I need at least {MIN_SIDE} pixels on each side."
        )
    if max(width, height) / min(width, height) > MAX_ASPECT:
        raise VideoInputError(f"The video is {width}×{height}, too long and thin to fit a video frame.")
    if not 0 < fps <= MAX_FPS:
        raise VideoInputError(
            f"The video says it runs at {fps:g} frames a second; I can take 1 to {MAX_FPS:g}."
        )
    if header.duration_s is not None and header.duration_s > max_seconds:
        raise VideoInputError(
            f"The video is {_duration(header.duration_s)} long; I can take videos up to "
            f"{_duration(max_seconds)}. Please trim it and share it again."
        )
    # 5. The frames, counted from the packets (nothing decoded), bounded by the time allowed.
    frames, seconds = _count_packets(path, limit_s=max_seconds)
    if frames == 0:
        raise VideoInputError("The video has no frames in it, so there is nothing to use.")
    duration = header.duration_s if header.duration_s is not None else seconds
    if duration > max_seconds or frames > max_seconds * fps + 1:
        raise VideoInputError(
            f"The video is longer than {_duration(max_seconds)}, the most I can take. "
            "Please trim it and share it again."
        )
    return VideoInput(
        width=width,
        height=height,
        fps=fps,
        frame_count=frames,
        duration_s=round(duration, 3),
        codec=header.codec,
        container=container,
    )


def container_of(head: bytes) -> str:
    """mp4, webm or gif from a file's first bytes; VideoInputError for anything else."""
    if head[4:8] == b"ftyp":
        if head[8:12] in PICTURE_BRANDS:
            raise VideoInputError(
                "That is a HEIC or AVIF photo, not a video. Share it as a picture to animate it."
            )
        return "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: WebM and Matroska
        return "webm"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free"):  # old QuickTime files start without ftyp
        return "mp4"
    raise VideoInputError(f"I couldn't open that file as a video. I can use {CONTAINERS} videos.")


def read_frames(
    path: Path, *, width: int, height: int, max_frames: int, fps: float | None = None
) -> tuple[list[Image.Image], list[str]]:
    """Up to `max_frames` RGB frames of exactly `width`×`height` (scaled to cover, centre-cropped),
    at `fps` if given (else the video's rate), and sentences saying what changed.

    Checks the video first (VideoInputError), with the module's default limits."""
    from PIL import Image

    if width <= 0 or height <= 0 or max_frames <= 0:
        raise ValueError(f"Need a positive size and frame count, not {width}×{height} × {max_frames}.")
    facts = check_video(
        path, max_seconds=DEFAULT_MAX_SECONDS, max_pixels=DEFAULT_MAX_PIXELS, max_bytes=DEFAULT_MAX_BYTES
    )
    rate = fps or facts.fps
    filters = [
        *([f"fps={rate_text(rate)}"] if fps and abs(fps - facts.fps) > 1e-3 else []),
        f"scale={width}:{height}:force_original_aspect_ratio=increase:flags=lanczos",
        f"crop={width}:{height}",
        "setsar=1",
    ]
    command = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-i",
        str(path),
        "-map",
        "0:v:0",
        "-vf",
        ",".join(filters),
        "-frames:v",
        str(max_frames),
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "pipe:1",
    ]
    frame_bytes = width * height * 3
    frames: list[Image.Image] = []
    # ffmpeg's messages go to a file, not a pipe: a full stderr pipe nobody reads would stall it.
    with (
        tempfile.TemporaryFile() as log,
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log) as decoder,
    ):
        assert decoder.stdout is not None
        while len(frames) < max_frames:
            chunk = decoder.stdout.read(frame_bytes)
            if len(chunk) < frame_bytes:
                break
            frames.append(Image.frombytes("RGB", (width, height), chunk))
        decoder.stdout.close()  # enough frames: ffmpeg stops at the closed pipe
        decoder.wait(timeout=FFMPEG_TIMEOUT_S)
        log.seek(0)
        errors = log.read().decode(errors="replace")
    if not frames:
        raise VideoInputError(
            "The video seems to be damaged, so I couldn't read its frames. Please share it again."
            + (f" ({errors.strip()[-200:]})" if errors.strip() else "")
        )
    return frames, _changes(facts, width, height, rate, len(frames))


def _changes(facts: VideoInput, width: int, height: int, rate: float, kept: int) -> list[str]:
    notes = []
    if abs(rate - facts.fps) > 1e-3:
        notes.append(f"changed the frame rate from {facts.fps:g} to {rate:g} frames a second")
    available = facts.duration_s * rate
    if kept < available - 1:
        notes.append(f"trimmed from {facts.duration_s:.1f} s to {kept / rate:.1f} s")
    if (facts.width, facts.height) != (width, height):
        scale = max(width / facts.width, height / facts.height)
        cover_w, cover_h = facts.width * scale, facts.height * scale
        note = f"resized from {facts.width}×{facts.height} to {width}×{height}"
        if cover_w - width >= 1:
            note += f", cropping {(cover_w - width) / cover_w:.0%} at the sides"
        elif cover_h - height >= 1:
            note += f", cropping {(cover_h - height) / cover_h:.0%} at the top and bottom"
        notes.append(note)
    return notes


@dataclass(frozen=True)
class _Header:
    width: int
    height: int
    fps: float
    duration_s: float | None
    codec: str


_STREAM = re.compile(r"Stream #\S+.*?: Video: (?P<codec>\w+)")
_SIZE = re.compile(r", (?P<w>\d+)x(?P<h>\d+)[ ,\[]")
_FPS = re.compile(r", (?P<fps>[\d.]+k?) (?:fps|tbr)")
_DURATION = re.compile(r"Duration: (?P<h>\d+):(?P<m>\d+):(?P<s>[\d.]+)")
_ROTATION = re.compile(r"rotation of (?P<angle>-?[\d.]+) degrees")


def _describe(path: Path) -> _Header:
    # `ffmpeg -i` without an output describes the input on stderr and exits 1: that's expected.
    try:
        text = subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=60,
        ).stderr
    except subprocess.TimeoutExpired:
        raise VideoInputError("The video took too long to open, so I can't use it.") from None
    if "Input #0" not in text:
        raise VideoInputError(
            "The video seems to be damaged or cut off, so I can't read it. Please share it again."
        )
    line = next((row for row in text.splitlines() if _STREAM.search(row)), None)
    if line is None:
        raise VideoInputError("That file has no video in it, so there is nothing to use.")
    stream, size = _STREAM.search(line), _SIZE.search(line)
    if not (stream and size):
        raise VideoInputError("I couldn't tell the size of the video's frames, so I can't use it.")
    rates = [_fps(m["fps"]) for m in _FPS.finditer(line)]
    # Phones store portrait video as landscape frames plus a rotation; ffmpeg turns the frames
    # upright when it decodes them, so the upright size is the one that counts.
    rotation = _ROTATION.search(text)
    upright = rotation is not None and round(abs(float(rotation["angle"]))) % 180 == 90
    width, height = int(size["w"]), int(size["h"])
    duration = _DURATION.search(text)
    seconds = int(duration["h"]) * 3600 + int(duration["m"]) * 60 + float(duration["s"]) if duration else None
    return _Header(
        width=height if upright else width,
        height=width if upright else height,
        fps=rates[0] if rates else 0.0,
        duration_s=seconds,
        codec=stream["codec"],
    )


# A clip cut from a longer one with `-c copy` can start before zero: its time reads "-00:00:00.12".
_PROGRESS = re.compile(r"frame=\s*(?P<frames>\d+).*?time=(?P<time>-?[\d:.]+|N/A)")


def _count_packets(path: Path, *, limit_s: float) -> tuple[int, float]:
    """(frames, seconds) by copying the video stream's packets to the null muxer: the container is
    read, no frame is decoded. `-t` stops at one frame past the limit, so a lying header can't make
    this run long."""
    done = subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-nostdin",
            "-i",
            str(path),
            "-map",
            "0:v:0",
            "-c",
            "copy",
            "-t",
            f"{limit_s + 1:.3f}",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
    )
    matches = list(_PROGRESS.finditer(done.stderr))
    # "partial file": the index promises packets the file doesn't hold (cut off while uploading).
    if done.returncode != 0 or "partial file" in done.stderr or "Invalid data" in done.stderr:
        raise VideoInputError(
            "The video seems to be damaged or cut off, so I can't read it. Please share it again."
        )
    if not matches:
        return 0, 0.0
    last = matches[-1]
    return int(last["frames"]), _seconds(last["time"])


def _fps(text: str) -> float:
    return float(text.removesuffix("k")) * (1000 if text.endswith("k") else 1)


def _seconds(clock: str) -> float:
    if clock == "N/A" or clock.startswith("-"):
        return 0.0
    hours, minutes, seconds = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def rate_text(fps: float) -> str:
    """A frame rate for ffmpeg's options, exact for whole numbers (8, 16, 24) and 29.97-like rates."""
    if abs(fps - round(fps)) < 1e-6:
        return str(round(fps))
    for den in (1001, 100, 1000):
        if abs(fps * den - round(fps * den)) < 1e-3:
            return f"{round(fps * den)}/{den}"
    return f"{fps:.6f}"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours".replace(".0 hours", " hours")
    if seconds >= 120:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:g} seconds"


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f}".removesuffix(".0")
