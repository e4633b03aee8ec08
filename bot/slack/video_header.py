"""What an MP4 or MOV video is, read from its boxes (ISO base media file format) without decoding a frame.

The bot checks a shared video before it stores it or asks for a render of it, and it can't run ffmpeg
on Lambda (the bundle carries no ffmpeg: `infra.bundle`). So it reads the container's own header: the
movie's duration (`mvhd`), and for the first video track (`hdlr` = `vide`) its size and rotation
(`tkhd`), its duration (`mdhd`) and its frame count (`stsz`). Nothing else is read, and nothing is
decoded. The render job checks the clip again with ffmpeg (`processing_job.video_input.check_video`)
before decoding it.

Phones write MP4 (Android) and MOV (iPhone); both are this format. Other containers (WebM, Matroska)
are refused here with a sentence that says what to share instead.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

CONTAINERS = "MP4 or MOV"
MAX_BOXES = 10_000  # a header with more boxes than any real video is refused, not walked forever
_CONTAINER_BOXES = (b"moov", b"trak", b"mdia", b"minf", b"stbl")
# ftyp brands that are still pictures (HEIC/AVIF photos), not videos.
_PICTURE_BRANDS = (b"heic", b"heix", b"mif1", b"msf1", b"avif", b"hevc")


class VideoHeaderError(ValueError):
    """A video whose header we can't use; the message is a sentence for the person who shared it."""


@dataclass(frozen=True)
class VideoFacts:
    width: int  # upright, as people see it
    height: int
    duration_s: float
    frame_count: int

    @property
    def fps(self) -> float:
        return self.frame_count / self.duration_s if self.duration_s > 0 else 0.0


def _boxes(data: bytes, start: int, end: int, budget: list[int]) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in data[start:end]."""
    at = start
    while at + 8 <= end:
        budget[0] -= 1
        if budget[0] < 0:
            raise VideoHeaderError("That video's header is far too long to be a real one, so I left it.")
        size, kind = struct.unpack_from(">I4s", data, at)
        header = 8
        if size == 1:
            if at + 16 > end:
                break
            (size,) = struct.unpack_from(">Q", data, at + 8)
            header = 16
        elif size == 0:
            size = end - at
        if size < header or at + size > end:
            raise VideoHeaderError(
                "The video seems to be damaged or cut off, so I can't read it. Please share it again."
            )
        yield kind, at + header, at + size
        at += size


def _find(
    data: bytes, start: int, end: int, path: tuple[bytes, ...], budget: list[int]
) -> list[tuple[int, int]]:
    """Every box at `path` under data[start:end] (payload start, end)."""
    found = []
    for kind, begin, finish in _boxes(data, start, end, budget):
        if kind == path[0]:
            if len(path) == 1:
                found.append((begin, finish))
            elif kind in _CONTAINER_BOXES:
                found += _find(data, begin, finish, path[1:], budget)
    return found


def _times(data: bytes, begin: int) -> tuple[int, int]:
    """(timescale, duration) of an mvhd or mdhd box (version 0 or 1)."""
    version = data[begin]
    if version == 1:
        return struct.unpack_from(">IQ", data, begin + 4 + 16)
    return struct.unpack_from(">II", data, begin + 4 + 8)


def read_video_header(data: bytes) -> VideoFacts:
    """The facts of an MP4/MOV video held in `data`; VideoHeaderError with a sentence otherwise."""
    head = data[:12]
    if head[4:8] == b"ftyp" and head[8:12] in _PICTURE_BRANDS:
        raise VideoHeaderError(
            "That is a HEIC or AVIF photo, not a video. Share it as a picture to animate it."
        )
    if head[4:8] not in (b"ftyp", b"moov", b"mdat", b"wide", b"free"):
        raise VideoHeaderError(f"I couldn't open that file as a video. I can restyle {CONTAINERS} videos.")
    budget = [MAX_BOXES]
    try:
        movies = _find(data, 0, len(data), (b"moov",), budget)
        if not movies:
            raise VideoHeaderError(
                "The video seems to be damaged or cut off, so I can't read it. Please share it again."
            )
        for track_start, track_end in _find(data, *movies[0], (b"trak",), budget):
            handlers = _find(data, track_start, track_end, (b"mdia", b"hdlr"), budget)
            if not handlers or data[handlers[0][0] + 8 : handlers[0][0] + 12] != b"vide":
                continue
            return _video_track(data, track_start, track_end, budget)
    except (struct.error, IndexError):
        raise VideoHeaderError(
            "The video seems to be damaged or cut off, so I can't read it. Please share it again."
        ) from None
    raise VideoHeaderError("That file has no video in it, so there is nothing to use.")


def _video_track(data: bytes, start: int, end: int, budget: list[int]) -> VideoFacts:
    (tkhd,) = _find(data, start, end, (b"tkhd",), budget)[:1] or [(-1, -1)]
    (mdhd,) = _find(data, start, end, (b"mdia", b"mdhd"), budget)[:1] or [(-1, -1)]
    sizes = _find(data, start, end, (b"mdia", b"minf", b"stbl", b"stsz"), budget)
    if tkhd[0] < 0 or mdhd[0] < 0 or not sizes:
        raise VideoHeaderError(
            "The video seems to be damaged or cut off, so I can't read it. Please share it again."
        )
    begin = tkhd[0]
    fixed = begin + 4 + (32 if data[begin] == 1 else 20) + 8 + 8  # past times, ids, layer, volume
    a, b, _, c, d = struct.unpack_from(">iiiii", data, fixed)
    width, height = (value >> 16 for value in struct.unpack_from(">II", data, fixed + 36))
    if a == 0 and d == 0 and b != 0 and c != 0:  # turned a quarter: phones' portrait video
        width, height = height, width
    timescale, duration = _times(data, mdhd[0])
    (frames,) = struct.unpack_from(">I", data, sizes[0][0] + 8)
    seconds = duration / timescale if timescale else 0.0
    return VideoFacts(width=width, height=height, duration_s=round(seconds, 3), frame_count=frames)
