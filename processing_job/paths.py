"""The job's folders: SageMaker's processing contract, which the local runner copies.

    <root>/input/spec.json          the JobSpec
    <root>/input/<spec.image>       the picture, for image-to-video
    <root>/input/<spec.video>       the clip to restyle (video-to-video) or to extend
    <root>/input/<spec.clips[i]>    the clips to join
    <root>/model/                   staged weights (optional; a diffusers folder with model_index.json)
    <root>/output/video.mp4         the results, uploaded to S3 by SageMaker
    <root>/output/poster.jpg
    <root>/output/result.json
    <failure file>                  one or two sentences when the job fails (SageMaker's ExitMessage)

No torch here: the bot lays out the same folders for the local runner.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROCESSING_DIR_ENV = "VIDEOBOT_PROCESSING_DIR"
FAILURE_FILE_ENV = "VIDEOBOT_FAILURE_FILE"
DEFAULT_PROCESSING_DIR = Path("/opt/ml/processing")
# SageMaker reads the first 1 KB of this file into the job's ExitMessage.
DEFAULT_FAILURE_FILE = Path("/opt/ml/output/message")

SPEC_FILE = "spec.json"
VIDEO_FILE = "video.mp4"
POSTER_FILE = "poster.jpg"
RESULT_FILE = "result.json"


@dataclass(frozen=True)
class JobPaths:
    root: Path
    failure_file: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> JobPaths:
        env = os.environ if env is None else env
        root = Path(env.get(PROCESSING_DIR_ENV) or DEFAULT_PROCESSING_DIR)
        failure = Path(env.get(FAILURE_FILE_ENV) or DEFAULT_FAILURE_FILE)
        return cls(root=root, failure_file=failure)

    @classmethod
    def in_folder(cls, root: Path) -> JobPaths:
        """A self-contained job folder for running outside SageMaker: the failure file sits beside
        input/ and output/ instead of in /opt/ml/output."""
        return cls(root=root, failure_file=root / "message")

    def env(self) -> dict[str, str]:
        """The environment variables that make `from_env` (in a child process) return these paths."""
        return {PROCESSING_DIR_ENV: str(self.root), FAILURE_FILE_ENV: str(self.failure_file)}

    @property
    def input_dir(self) -> Path:
        return self.root / "input"

    @property
    def spec_file(self) -> Path:
        return self.input_dir / SPEC_FILE

    def input_file(self, name: str) -> Path:
        """One of the spec's inputs (its image, video or clips); `name` is a plain file name
        (JobSpec.validate rejects anything else)."""
        if Path(name).name != name or name in {"", ".", ".."}:
            raise ValueError(f"An input's name must be a plain file name, not {name!r}.")
        return self.input_dir / name

    def image_file(self, name: str) -> Path:
        """The spec's image (see `input_file`)."""
        return self.input_file(name)

    @property
    def work_dir(self) -> Path:
        """Scratch space for the stages' intermediate files (not uploaded)."""
        return self.root / "work"

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def video_file(self) -> Path:
        return self.output_dir / VIDEO_FILE

    @property
    def poster_file(self) -> Path:
        return self.output_dir / POSTER_FILE

    @property
    def result_file(self) -> Path:
        return self.output_dir / RESULT_FILE
