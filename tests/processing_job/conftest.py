"""Fixtures for the generation container: the real tiny CogVideoX models of every family (built once
per session into a temporary model cache), real job folders, the real ffmpeg from imageio-ffmpeg,
real pictures made with Pillow, and moto's AWS on 127.0.0.1 for the EventBridge and S3 parts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from processing_job.models import resolve_model
from processing_job.paths import JobPaths
from processing_job.spec import JobSpec

if TYPE_CHECKING:
    import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMPT = "a corgi surfing a wave at sunset, golden hour light, cinematic"


# One small render per family: (model, height, width, frames).
FAMILIES = {
    "1.0 t2v": ("tiny", 64, 96, 9),
    "1.0 i2v": ("tiny-i2v", 128, 192, 9),
    "1.5 t2v": ("tiny-1.5", 64, 96, 17),
    "1.5 i2v": ("tiny-1.5-i2v", 96, 160, 17),
}


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from processing_job.tiny import ensure_tiny_models

    return ensure_tiny_models(tmp_path_factory.mktemp("models"))


@pytest.fixture(autouse=True)
def job_env(monkeypatch: pytest.MonkeyPatch, model_cache: Path) -> None:
    """Every test sees the session's model cache and no progress pipe unless it sets one."""
    monkeypatch.setenv("VIDEOBOT_MODEL_CACHE", str(model_cache))
    for name in (
        "VIDEOBOT_PROGRESS_FD",
        "VIDEOBOT_PROGRESS",
        "VIDEOBOT_MEMORY_PLAN",
        "VIDEOBOT_DRAFT_CACHE",
        "VIDEOBOT_COMPILE",
        "VIDEOBOT_QUANTIZE",
        "VIDEOBOT_UPSCALER_WEIGHTS",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def load_tiny(model_cache: Path) -> Callable[[str], object]:
    """A tiny pipeline by model key, loaded once per session through the job's own loading code."""
    from processing_job.generate import load_pipeline
    from processing_job.weights import resolve_weights

    loaded: dict[str, object] = {}

    def load(key: str):
        if key not in loaded:
            info = resolve_model(key)
            weights = resolve_weights(info, Path("/nonexistent"), model_cache)
            loaded[key] = load_pipeline(info, weights, device="cpu")
        return loaded[key]

    return load


@pytest.fixture(scope="session")
def tiny_pipeline(load_tiny):
    """The tiny text-to-video pipeline, on the CPU."""
    return load_tiny("tiny")


@pytest.fixture
def family_spec() -> Callable[..., JobSpec]:
    """A small spec for one of FAMILIES (an image-to-video one names `picture.png`)."""

    def make(family: str, **changes: object) -> JobSpec:
        model, height, width, frames = FAMILIES[family]
        values: dict = {
            "job_id": "family-job",
            "model": model,
            "prompt": PROMPT,
            "seed": 11,
            "num_frames": frames,
            "height": height,
            "width": width,
            "num_inference_steps": 2,
            "image": "picture.png" if model.endswith("i2v") else None,
        }
        values.update(changes)
        return JobSpec.create(**values)

    return make


def direct_call(loaded: Any, spec: JobSpec, image: Any = None) -> np.ndarray:
    """The plain diffusers call a user would write, for comparison (`image`: an image-to-video's
    picture)."""
    import torch

    extra = {"image": image} if image is not None else {}
    return loaded.pipe(
        prompt=spec.prompt,
        negative_prompt=spec.negative_prompt,
        height=spec.height,
        width=spec.width,
        num_frames=spec.num_frames,
        num_inference_steps=spec.num_inference_steps,
        guidance_scale=spec.guidance_scale,
        use_dynamic_cfg=loaded.info.use_dynamic_cfg,
        generator=torch.Generator(device="cpu").manual_seed(spec.seed),
        max_sequence_length=loaded.max_sequence_length,
        output_type="np",
        **extra,
    ).frames[0]


def run_python(script: str) -> subprocess.CompletedProcess:
    """`script` in a fresh interpreter (nothing imported yet), run from the repository."""
    return subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )


def gradient_picture(width: int = 320, height: int = 200):
    """A real picture with structure (red grows to the right, green downwards), made with Pillow."""
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), np.full_like(x, 90)], -1)
    return Image.fromarray(pixels.astype("uint8"), "RGB")


@pytest.fixture
def make_picture() -> Callable[..., bytes]:
    """Encoded bytes of a gradient picture: make_picture(width, height, format="PNG", **save options)."""
    import io

    def make(width: int = 320, height: int = 200, format: str = "PNG", **options: object) -> bytes:
        buffer = io.BytesIO()
        gradient_picture(width, height).save(buffer, format=format, **options)
        return buffer.getvalue()

    return make


@pytest.fixture
def picture_png(make_picture) -> bytes:
    return make_picture()


@pytest.fixture(scope="session")
def moto_endpoint() -> str:
    """moto's AWS on 127.0.0.1 (real HTTP for boto3); reset between tests that use it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """boto3 pointed at moto, with fake credentials and a clean state."""
    import urllib.request

    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return moto_endpoint


@pytest.fixture
def make_spec() -> Callable[..., JobSpec]:
    """A small, fast tiny-model spec; keyword arguments change it."""

    def make(**changes: object) -> JobSpec:
        values: dict = {
            "job_id": "test-job",
            "model": "tiny",
            "prompt": PROMPT,
            "seed": 42,
            "num_frames": 9,
            "height": 64,
            "width": 96,
            "num_inference_steps": 2,
        }
        values.update(changes)
        return JobSpec.create(**values)

    return make


@pytest.fixture
def make_job(tmp_path: Path) -> Callable[..., JobPaths]:
    """A job folder holding `spec` (a JobSpec, a dict or raw text) as input/spec.json, `picture`
    (bytes) under the spec's image name, `video` (bytes) under its video name, and `files` (name ->
    bytes: a join's clips) as they are named."""

    def make(
        spec: JobSpec | dict | str,
        picture: bytes | None = None,
        video: bytes | None = None,
        files: dict[str, bytes] | None = None,
    ) -> JobPaths:
        paths = JobPaths.in_folder(tmp_path / "job")
        paths.input_dir.mkdir(parents=True)
        if isinstance(spec, JobSpec):
            text, data = spec.to_json(), spec.to_dict()
        elif isinstance(spec, dict):
            text, data = json.dumps(spec), spec
        else:
            text, data = spec, {}
        paths.spec_file.write_text(text)
        if picture is not None and data.get("image"):
            paths.input_file(data["image"]).write_bytes(picture)
        if video is not None and data.get("video"):
            paths.input_file(data["video"]).write_bytes(video)
        for name, content in (files or {}).items():
            paths.input_file(name).write_bytes(content)
        return paths

    return make


def clip_bytes(tmp_path: Path, *, frames: int = 9, width: int = 96, height: int = 64, fps: int = 24) -> bytes:
    """A real H.264 clip: a gradient picture turning a little every frame, written by the job's writer."""
    import numpy as np

    from processing_job.export import write_mp4

    picture = gradient_picture(width * 2, height * 2)
    pixels = np.stack(
        [np.asarray(picture.rotate(index * 3).resize((width, height))) for index in range(frames)]
    )
    path = tmp_path / f"clip-{frames}-{width}x{height}-{fps}.mp4"
    write_mp4(pixels, path, fps)
    return path.read_bytes()


@pytest.fixture
def make_clip(tmp_path: Path) -> Callable[..., bytes]:
    """Encoded bytes of a real clip: make_clip(frames=9, width=96, height=64, fps=24)."""

    def make(**shape: int) -> bytes:
        return clip_bytes(tmp_path, **shape)

    return make


@pytest.fixture
def run_container(model_cache: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Runs `python -m processing_job.inference` as SageMaker would: a child process, configured
    only by its environment. Extra keyword arguments go to subprocess.run."""

    def run(
        paths: JobPaths, env: dict[str, str] | None = None, **kwargs: object
    ) -> subprocess.CompletedProcess:
        full_env = {**os.environ, "VIDEOBOT_MODEL_CACHE": str(model_cache), **paths.env(), **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "processing_job.inference"],
            cwd=REPO_ROOT,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=120,
            **kwargs,
        )

    return run
