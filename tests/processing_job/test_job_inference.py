"""The container: a spec.json in, video.mp4 + poster.jpg + result.json out; or a sentence and exit 1."""

from __future__ import annotations

import json
import os

import pytest
from PIL import Image

from processing_job import inference
from processing_job.export import probe_video
from processing_job.paths import JobPaths
from processing_job.progress import CallbackSink, ProgressEvent


def test_a_render_writes_a_playable_video_a_poster_and_the_result(make_job, make_spec):
    spec = make_spec(num_frames=17)
    paths = make_job(spec)
    events: list[ProgressEvent] = []
    assert inference.main(paths, CallbackSink(events.append)) == 0

    video = probe_video(paths.video_file)
    assert (video.codec, video.pix_fmt, video.faststart) == ("h264", "yuv420p", True)
    assert (video.frames, video.width, video.height, video.fps) == (17, 96, 64, 8.0)
    with Image.open(paths.poster_file) as poster:
        assert (poster.format, poster.size) == ("JPEG", (96, 64))

    result = json.loads(paths.result_file.read_text())
    assert result["spec"] == spec.to_dict() and result["seed"] == 42
    assert result["model"]["key"] == "tiny" and result["weights"]["source"] == "cache"
    assert set(result["timings_s"]) == {
        "loading", "model_load", "weights_wait", "encoding", "denoising", "decoding", "writing", "total"
    }  # fmt: skip
    assert result["timings_s"]["total"] >= result["timings_s"]["denoising"] > 0
    assert result["parameters"]["num_inference_steps"] == 2 and result["parameters"]["device"] == "cpu"
    assert result["prompt_tokens"]["prompt"]["cut"] == 0 and result["prompt_tokens"]["limit"] == 226
    assert result["video"]["frames"] == 17 and result["video"]["faststart"] is True
    assert result["memory"]["peak_cpu_rss_bytes"] > 0 and result["memory"]["peak_gpu_bytes"] is None
    assert result["versions"]["diffusers"] and result["device"]["type"] == "cpu"

    assert [e.phase for e in events if e.phase != "denoising"] == [
        "loading",
        "encoding",
        "decoding",
        "writing",
        "done",
    ]
    assert not paths.failure_file.exists()


def test_the_container_command_renders_and_streams_progress_as_json_lines(make_job, make_spec, run_container):
    paths = make_job(make_spec())
    read_end, write_end = os.pipe()
    env = {"VIDEOBOT_PROGRESS_FD": str(write_end), "VIDEOBOT_PROGRESS_INTERVAL_S": "0"}
    with os.fdopen(read_end) as pipe:
        try:
            done = run_container(paths, env, pass_fds=(write_end,))
        finally:
            os.close(write_end)  # the child's copy closed when it exited: now the pipe ends
        events = [ProgressEvent.from_dict(json.loads(line)) for line in pipe]
    assert done.returncode == 0, done.stderr
    assert probe_video(paths.video_file).frames == 9
    assert paths.poster_file.is_file() and json.loads(paths.result_file.read_text())["job_id"] == "test-job"
    assert [(e.phase, e.step) for e in events][-5:] == [
        ("denoising", 1),
        ("denoising", 2),
        ("decoding", 0),
        ("writing", 0),
        ("done", 0),
    ]
    assert all(e.job_id == "test-job" for e in events)


def test_a_prompt_over_the_token_limit_is_reported_in_the_result(make_job, make_spec):
    paths = make_job(make_spec(prompt=" ".join(["a corgi surfing a wave at sunset"] * 60)))
    assert inference.main(paths) == 0
    result = json.loads(paths.result_file.read_text())
    tokens = result["prompt_tokens"]["prompt"]
    assert tokens["used"] == 226 and tokens["cut"] == tokens["count"] - 226 > 0
    assert any("were cut" in warning for warning in result["warnings"])


def test_an_invalid_spec_fails_with_the_problems_in_the_failure_file(make_job, make_spec):
    paths = make_job({**make_spec().to_dict(), "num_frames": 10, "width": 100})
    assert inference.main(paths) == 1
    message = paths.failure_file.read_text(encoding="utf-8")
    assert message.startswith("The job spec is invalid: ")
    assert "not 10" in message and "not 100" in message
    assert "Traceback" not in message and not paths.video_file.exists()


def test_a_missing_spec_file_is_said_plainly(tmp_path):
    paths = JobPaths.in_folder(tmp_path)
    assert inference.main(paths) == 1
    assert paths.failure_file.read_text().startswith("The job spec was not found")


def test_missing_weights_without_the_hub_fail_the_container_with_a_sentence(
    make_job, make_spec, run_container, tmp_path
):
    paths = make_job(
        make_spec().to_dict() | {"model": "cogvideox-2b", "height": 480, "width": 720, "num_frames": 49}
    )
    env = {
        "VIDEOBOT_MODEL_CACHE": str(tmp_path / "empty-cache"),
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
    }
    done = run_container(paths, env)
    assert done.returncode != 0
    message = paths.failure_file.read_text(encoding="utf-8")
    assert message.startswith("The model weights for CogVideoX-2B were not found")
    assert "Traceback" not in message and "Traceback" in done.stderr  # the log keeps the details


def test_an_unexpected_error_gives_a_generic_sentence_not_a_traceback(make_job, make_spec, monkeypatch):
    def broken_render(*args, **kwargs):
        raise ValueError("tensor shapes disagree: (1, 2) vs (3, 4)")

    monkeypatch.setattr("processing_job.generate.render", broken_render)
    paths = make_job(make_spec())
    assert inference.main(paths) == 1
    assert paths.failure_file.read_text() == (
        "The render failed unexpectedly (ValueError). The job's log has the details."
    )


def test_running_out_of_gpu_memory_mid_render_fails_the_job_with_a_sentence(make_job, make_spec, monkeypatch):
    import torch
    from diffusers import CogVideoXTransformer3DModel

    def out_of_memory(self, *args, **kwargs):  # what CUDA raises when an allocation doesn't fit
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(CogVideoXTransformer3DModel, "forward", out_of_memory)
    paths = make_job(make_spec())
    assert inference.main(paths) == 1
    message = paths.failure_file.read_text(encoding="utf-8")
    assert message == (
        "The GPU ran out of memory rendering 9 frames at 96×64 with tiny CogVideoX (random weights, "
        "offline test model). Try fewer frames, a smaller size or a smaller model."
    )
    assert not paths.video_file.exists()


def test_running_out_of_gpu_memory_is_named_with_what_was_asked(make_spec):
    spec = make_spec()
    message = inference.failure_message(RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"), spec)
    assert message.startswith("The GPU ran out of memory rendering 9 frames at 96×64")


@pytest.mark.parametrize("text", ["é" * 600, "a" + "🎬" * 300, "x" * 2000])
def test_failure_messages_are_cut_to_1_kb_on_a_character_boundary(tmp_path, text):
    path = tmp_path / "out" / "message"
    inference.write_failure(path, text)
    data = path.read_bytes()
    assert len(data) <= 1024
    written = data.decode("utf-8")  # strict: a split character would raise here
    assert written.endswith("…") and text.startswith(written[:-1])


def test_a_short_failure_message_is_kept_whole():
    assert inference.truncate_utf8("The GPU ran out of memory.") == "The GPU ran out of memory."
