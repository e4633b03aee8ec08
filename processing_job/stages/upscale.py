"""Upscale: ×2 or ×4, with Real-ESRGAN through spandrel when its weights are staged, else ffmpeg's
Lanczos filter (and the report says so).

The Real-ESRGAN path streams: ffmpeg decodes the clip to raw RGB on a pipe, one frame at a time goes
through the model in tiles, and each upscaled frame is written straight to a second ffmpeg that
encodes it (H.264, yuv420p, faststart, the options `export.write_mp4` uses). At any moment the
process holds one source frame, one upscaled frame (uint8) and one tile's tensors, whatever the
clip's length: a 10 s 1080p clip at ×2 never has more than a frame at 4K in memory.

Tiles are `TILE` pixels of the source with `OVERLAP` pixels of context on each side; each tile's
output is cropped back to its own square and pasted (Real-ESRGAN's own tiled inference does the
same), so the context hides the seams and memory is bounded by the tile, not the frame.

The model is loaded with `spandrel.ModelLoader().load_from_file` (.pth or .safetensors: Real-ESRGAN
x4plus, x2plus, any ESRGAN-family state dict spandrel recognises) on CUDA in fp16 when there is a
GPU, else on the CPU in fp32. A model of another scale than asked (the common x4plus for a ×2) runs
at its own scale and ffmpeg's Lanczos brings the frames to the size asked.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from processing_job.export import FFMPEG_TIMEOUT_S, ffmpeg_exe, h264_output_args
from processing_job.stages import StageError, StageReport
from processing_job.stages._ffmpeg import checked, encode, partial_path, rate_text
from processing_job.video_input import VideoInput

if TYPE_CHECKING:
    import numpy as np

FACTORS = (2, 4)
TILE = 256  # source pixels a side: an RRDBNet tile at ×4 stays well under 1 GB in fp32
OVERLAP = 16  # source pixels of context around each tile (Real-ESRGAN's own tile_pad is 10)
NO_WEIGHTS = "upscaled with a plain Lanczos filter: no Real-ESRGAN weights were staged"


def upscale(src: Path, dst: Path, *, factor: int, weights: Path | None) -> StageReport:
    """`src` at `factor` × its width and height in `dst` (H.264, yuv420p, faststart): Real-ESRGAN
    from `weights` when the file is there, else a Lanczos filter."""
    started = time.perf_counter()
    if factor not in FACTORS:
        raise StageError(f"Upscaling can make a video 2 or 4 times as large, not {factor} times.")
    source = checked(src)
    width, height = source.width * factor, source.height * factor
    params: dict[str, Any] = {
        "factor": factor,
        "width_in": source.width,
        "height_in": source.height,
        "width_out": width,
        "height_out": height,
        "frames": source.frame_count,
    }
    notes: list[str]
    upscaler = None
    if weights is not None and Path(weights).is_file():
        upscaler, problem = _load_or_explain(Path(weights))
    else:
        problem = NO_WEIGHTS
    if upscaler is None:
        encode(
            ["-i", str(src)],
            ["-map", "0:v:0", "-vf", f"scale={width}:{height}:flags=lanczos"],
            Path(dst),
            what="upscale the video",
        )
        params["method"] = "lanczos"
        notes = [problem]
    else:
        _upscale_stream(upscaler, source, Path(src), Path(dst), size=(width, height))
        params.update(method="real-esrgan", **upscaler.describe())
        notes = [f"upscaled {factor}× with Real-ESRGAN ({upscaler.architecture})"]
        if upscaler.scale != factor:
            notes.append(
                f"the Real-ESRGAN model is ×{upscaler.scale}, so its frames were brought to ×{factor} "
                "with a Lanczos filter"
            )
    return StageReport("upscale", round(time.perf_counter() - started, 3), params, notes)


class Upscaler:
    """A spandrel image model on its device, run over frames in tiles."""

    def __init__(self, descriptor: Any, device: str, *, tile: int = TILE, overlap: int = OVERLAP) -> None:
        import torch

        self.device = device
        self.dtype = torch.float16 if device == "cuda" and descriptor.supports_half else torch.float32
        self.descriptor = descriptor.to(torch.device(device)).eval()
        if self.dtype == torch.float16:
            self.descriptor.half()
        self.scale: int = int(descriptor.scale)
        self.architecture: str = descriptor.architecture.name
        self.tile, self.overlap = tile, overlap

    @classmethod
    def from_file(cls, weights: Path, device: str | None = None, **tiling: int) -> Upscaler:
        """Real-ESRGAN (or another super-resolution model spandrel knows) from a .pth or
        .safetensors file; StageError if the file isn't one."""
        import spandrel
        import torch

        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            descriptor = spandrel.ModelLoader().load_from_file(weights)
        except Exception as error:  # spandrel raises many kinds for a file that isn't a model
            raise StageError(
                "The staged upscaling weights are not a model I can load, so I can't upscale with them."
            ) from error
        if not isinstance(descriptor, spandrel.ImageModelDescriptor) or descriptor.purpose != "SR":
            raise StageError(
                "The staged upscaling weights are not a super-resolution model, so I can't upscale with them."
            )
        return cls(descriptor, device, **tiling)

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.architecture,
            "model_scale": self.scale,
            "device": self.device,
            "dtype": str(self.dtype).removeprefix("torch."),
            "tile": self.tile,
            "overlap": self.overlap,
        }

    def upscale_frame(self, frame: np.ndarray) -> np.ndarray:
        """One (H, W, 3) uint8 frame at the model's scale, (H·s, W·s, 3) uint8, tile by tile."""
        import numpy as np
        import torch

        height, width, _ = frame.shape
        scale, tile, overlap = self.scale, self.tile, self.overlap
        out = np.empty((height * scale, width * scale, 3), dtype=np.uint8)
        pixels = torch.from_numpy(frame).to(self.device).permute(2, 0, 1).unsqueeze(0)
        with torch.inference_mode():
            for top in range(0, height, tile):
                for left in range(0, width, tile):
                    bottom, right = min(top + tile, height), min(left + tile, width)
                    # The tile with its context, clamped to the frame.
                    y0, x0 = max(top - overlap, 0), max(left - overlap, 0)
                    y1, x1 = min(bottom + overlap, height), min(right + overlap, width)
                    piece = pixels[..., y0:y1, x0:x1].to(self.dtype) / 255.0
                    result = self.descriptor(piece)
                    # Crop the context off again and paste the tile's own square.
                    dy, dx = (top - y0) * scale, (left - x0) * scale
                    own = result[0, :, dy : dy + (bottom - top) * scale, dx : dx + (right - left) * scale]
                    out[top * scale : bottom * scale, left * scale : right * scale] = (
                        (own.float().clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
                    )
        return out


def _load_or_explain(weights: Path) -> tuple[Upscaler | None, str]:
    try:
        return Upscaler.from_file(weights), ""
    except ImportError as error:  # spandrel, or one of its imports, is missing from this install
        return None, (
            "upscaled with a plain Lanczos filter: Real-ESRGAN weights were staged, but spandrel could "
            f"not be imported ({error})"
        )


def _upscale_stream(
    upscaler: Upscaler, source: VideoInput, src: Path, dst: Path, *, size: tuple[int, int]
) -> None:
    """Decode → model → encode, one frame at a time, between two ffmpeg processes."""
    import numpy as np

    width, height, fps = source.width, source.height, source.fps
    model_size = (width * upscaler.scale, height * upscaler.scale)
    partial = partial_path(dst)
    decode = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(src)]
    decode += ["-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    resize = [] if model_size == size else ["-vf", f"scale={size[0]}:{size[1]}:flags=lanczos"]
    encode_command = [
        ffmpeg_exe(),
        *("-hide_banner", "-nostdin", "-y", "-loglevel", "error"),
        *("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{model_size[0]}x{model_size[1]}"),
        *("-r", rate_text(fps), "-i", "pipe:0"),
        *resize,
        "-an",
        *h264_output_args(),
        str(partial),
    ]
    frame_bytes = width * height * 3
    # ffmpeg's messages go to files, not pipes: a full stderr pipe nobody reads would stall it.
    with (
        tempfile.TemporaryFile() as decode_log,
        tempfile.TemporaryFile() as encode_log,
        subprocess.Popen(decode, stdout=subprocess.PIPE, stderr=decode_log) as decoder,
        subprocess.Popen(encode_command, stdin=subprocess.PIPE, stderr=encode_log) as encoder,
    ):
        assert decoder.stdout is not None and encoder.stdin is not None
        buffer = bytearray(frame_bytes)  # one source frame, reused
        frame = np.frombuffer(buffer, dtype=np.uint8).reshape(height, width, 3)
        try:
            while decoder.stdout.readinto(buffer) == frame_bytes:
                try:
                    encoder.stdin.write(memoryview(upscaler.upscale_frame(frame)))
                except BrokenPipeError:
                    break  # the encoder stopped: its log says why
            with contextlib.suppress(BrokenPipeError):
                encoder.stdin.close()
            encoded = encoder.wait(timeout=FFMPEG_TIMEOUT_S)
            decoder.stdout.close()  # a decoder left mid-stream stops at the closed pipe
            decoded = decoder.wait(timeout=FFMPEG_TIMEOUT_S)
        except BaseException:
            decoder.kill()
            encoder.kill()
            partial.unlink(missing_ok=True)
            raise
        if encoded != 0 or decoded != 0:
            partial.unlink(missing_ok=True)
            log = encode_log if encoded != 0 else decode_log
            log.seek(0)
            raise RuntimeError(
                f"ffmpeg could not upscale the video: {log.read().decode(errors='replace')[-800:]}"
            )
    partial.replace(dst)
