"""Fixtures for the generation container: the real tiny CogVideoX (built once per session into a
temporary model cache), real job folders and the real ffmpeg from imageio-ffmpeg."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from processing_job.models import resolve_model
from processing_job.paths import JobPaths
from processing_job.spec import JobSpec

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMPT = "a corgi surfing a wave at sunset, golden hour light, cinematic"


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from processing_job.tiny import ensure_tiny_model

    cache = tmp_path_factory.mktemp("models")
    ensure_tiny_model(cache)
    return cache


@pytest.fixture(autouse=True)
def job_env(monkeypatch: pytest.MonkeyPatch, model_cache: Path) -> None:
    """Every test sees the session's model cache and no progress pipe unless it sets one."""
    monkeypatch.setenv("VIDEOBOT_MODEL_CACHE", str(model_cache))
    monkeypatch.delenv("VIDEOBOT_PROGRESS_FD", raising=False)


@pytest.fixture(scope="session")
def tiny_pipeline(model_cache: Path):
    """The tiny pipeline loaded once, through the job's own loading code, on the CPU."""
    from processing_job.generate import load_pipeline
    from processing_job.weights import resolve_weights

    info = resolve_model("tiny")
    return load_pipeline(info, resolve_weights(info, Path("/nonexistent"), model_cache), device="cpu")


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
    """A job folder holding `spec` (a JobSpec, a dict or raw text) as input/spec.json."""

    def make(spec: JobSpec | dict | str) -> JobPaths:
        paths = JobPaths.in_folder(tmp_path / "job")
        paths.input_dir.mkdir(parents=True)
        if isinstance(spec, JobSpec):
            text = spec.to_json()
        elif isinstance(spec, dict):
            text = json.dumps(spec)
        else:
            text = spec
        paths.spec_file.write_text(text)
        return paths

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
