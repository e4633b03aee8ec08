"""Upscale: Real-ESRGAN through spandrel (a tiny random-weight ESRGAN saved to a file and loaded
through spandrel's real loader), tiled and streamed between two ffmpegs; Lanczos without weights."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from processing_job.export import probe_video
from processing_job.stages import StageError
from processing_job.stages.upscale import NO_WEIGHTS, Upscaler, upscale
from processing_job.video_input import read_frames
from tests.processing_job.clips import make_clip
from tests.processing_job.spandrel_import import import_spandrel


def tiny_esrgan(folder: Path, *, scale: int, suffix: str = ".safetensors") -> Path:
    """A Real-ESRGAN-shaped RRDBNet with random weights and a few filters, saved as a state dict."""
    import torch

    spandrel = import_spandrel()
    from spandrel.architectures.ESRGAN import ESRGAN

    torch.manual_seed(scale)
    model = ESRGAN(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=scale)
    path = folder / f"tiny-esrgan-x{scale}{suffix}"
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(model.state_dict(), str(path))
    else:
        torch.save(model.state_dict(), path)
    assert spandrel is not None
    return path


@pytest.mark.parametrize("factor", [2, 4])
def test_real_esrgan_multiplies_the_size_and_keeps_every_frame(tmp_path, factor):
    weights = tiny_esrgan(tmp_path, scale=factor)
    src = make_clip(tmp_path / "clip.mp4", frames=5, width=48, height=32)

    report = upscale(src, tmp_path / "big.mp4", factor=factor, weights=weights)

    big = probe_video(tmp_path / "big.mp4")
    assert (big.width, big.height, big.frames, big.fps) == (48 * factor, 32 * factor, 5, 8.0)
    assert (big.codec, big.pix_fmt, big.faststart) == ("h264", "yuv420p", True)
    assert report.params["method"] == "real-esrgan"
    assert report.notes == [f"upscaled {factor}× with Real-ESRGAN (ESRGAN)"]


def test_a_pth_state_dict_loads_too(tmp_path):
    weights = tiny_esrgan(tmp_path, scale=2, suffix=".pth")

    report = upscale(
        make_clip(tmp_path / "clip.mp4", frames=2, width=32, height=32),
        tmp_path / "big.mp4",
        factor=2,
        weights=weights,
    )

    assert report.params["model_scale"] == 2


def test_the_model_runs_on_the_cpu_in_float32_without_a_gpu(tmp_path):
    report = upscale(
        make_clip(tmp_path / "clip.mp4", frames=2, width=32, height=32),
        tmp_path / "big.mp4",
        factor=2,
        weights=tiny_esrgan(tmp_path, scale=2),
    )

    assert (report.params["device"], report.params["dtype"]) == ("cpu", "float32")


def test_a_x4_model_asked_for_x2_is_brought_to_size_with_lanczos(tmp_path):
    src = make_clip(tmp_path / "clip.mp4", frames=3, width=48, height=32)

    report = upscale(src, tmp_path / "big.mp4", factor=2, weights=tiny_esrgan(tmp_path, scale=4))

    big = probe_video(tmp_path / "big.mp4")
    assert (big.width, big.height, big.frames) == (96, 64, 3)
    assert report.notes[1] == (
        "the Real-ESRGAN model is ×4, so its frames were brought to ×2 with a Lanczos filter"
    )


def test_tiles_with_enough_context_match_the_whole_frame(tmp_path):
    import torch

    spandrel = import_spandrel()
    descriptor = spandrel.ModelLoader().load_from_file(tiny_esrgan(tmp_path, scale=2))
    frame = np.random.default_rng(0).integers(0, 256, (40, 72, 3), dtype=np.uint8)

    tiled = Upscaler(descriptor, "cpu", tile=24, overlap=40).upscale_frame(frame)

    with torch.inference_mode():
        whole = descriptor(torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255)
    expected = (whole[0].clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    assert tiled.shape == (80, 144, 3)
    assert np.abs(tiled.astype(int) - expected.astype(int)).max() <= 1


def test_the_upscaled_frames_come_from_the_model(tmp_path):
    src = make_clip(tmp_path / "clip.mp4", frames=2, width=32, height=32)
    upscale(src, tmp_path / "esrgan.mp4", factor=2, weights=tiny_esrgan(tmp_path, scale=2))
    upscale(src, tmp_path / "lanczos.mp4", factor=2, weights=None)

    esrgan, _ = read_frames(tmp_path / "esrgan.mp4", width=64, height=64, max_frames=1)
    lanczos, _ = read_frames(tmp_path / "lanczos.mp4", width=64, height=64, max_frames=1)
    # Random weights make a dark smudge, nothing like the test pattern the filter keeps.
    difference = np.abs(np.asarray(esrgan[0], dtype=int) - np.asarray(lanczos[0], dtype=int)).mean()
    assert difference > 20


def test_without_weights_a_lanczos_filter_upscales_and_says_so(tmp_path):
    src = make_clip(tmp_path / "clip.mp4", frames=5, width=48, height=32)

    report = upscale(src, tmp_path / "big.mp4", factor=4, weights=None)

    big = probe_video(tmp_path / "big.mp4")
    assert (big.width, big.height, big.frames) == (192, 128, 5)
    assert (big.codec, big.pix_fmt, big.faststart) == ("h264", "yuv420p", True)
    assert report.params["method"] == "lanczos"
    assert report.notes == [NO_WEIGHTS]


def test_weights_named_but_not_staged_fall_back_to_lanczos(tmp_path):
    report = upscale(
        make_clip(tmp_path / "clip.mp4", frames=2),
        tmp_path / "big.mp4",
        factor=2,
        weights=tmp_path / "absent.pth",
    )

    assert report.notes == ["upscaled with a plain Lanczos filter: no Real-ESRGAN weights were staged"]


def test_without_spandrel_staged_weights_fall_back_to_lanczos_and_say_why(tmp_path, monkeypatch):
    weights = tiny_esrgan(tmp_path, scale=2)
    monkeypatch.setitem(
        sys.modules, "spandrel", None
    )  # what `import spandrel` meets in an install without it

    report = upscale(
        make_clip(tmp_path / "clip.mp4", frames=2), tmp_path / "big.mp4", factor=2, weights=weights
    )

    assert report.params["method"] == "lanczos"
    assert report.notes[0].startswith(
        "upscaled with a plain Lanczos filter: Real-ESRGAN weights were staged, "
        "but spandrel could not be imported"
    )


def test_weights_that_are_not_a_model_are_refused_with_a_sentence(tmp_path):
    import_spandrel()
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"these are not weights")

    with pytest.raises(StageError, match="not a model I can load"):
        upscale(make_clip(tmp_path / "clip.mp4", frames=2), tmp_path / "big.mp4", factor=2, weights=junk)
    assert not (tmp_path / "big.mp4").exists()


@pytest.mark.parametrize("factor", [1, 3, 8])
def test_other_factors_are_refused_with_a_sentence(tmp_path, factor):
    with pytest.raises(StageError, match=f"2 or 4 times as large, not {factor} times"):
        upscale(make_clip(tmp_path / "clip.mp4", frames=2), tmp_path / "big.mp4", factor=factor, weights=None)
