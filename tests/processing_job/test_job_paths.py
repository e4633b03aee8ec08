"""The job's folders follow SageMaker's processing contract, and the env can move them."""

from __future__ import annotations

from pathlib import Path

import pytest

from processing_job.paths import JobPaths


def test_without_env_the_paths_are_sagemakers():
    paths = JobPaths.from_env({})
    assert paths.spec_file == Path("/opt/ml/processing/input/spec.json")
    assert paths.model_dir == Path("/opt/ml/processing/model")
    assert paths.video_file == Path("/opt/ml/processing/output/video.mp4")
    assert paths.poster_file == Path("/opt/ml/processing/output/poster.jpg")
    assert paths.result_file == Path("/opt/ml/processing/output/result.json")
    assert paths.failure_file == Path("/opt/ml/output/message")


def test_the_env_moves_the_root_and_the_failure_file(tmp_path):
    paths = JobPaths.from_env(
        {"VIDEOBOT_PROCESSING_DIR": str(tmp_path), "VIDEOBOT_FAILURE_FILE": str(tmp_path / "why")}
    )
    assert paths.spec_file == tmp_path / "input" / "spec.json"
    assert paths.image_file("cat.png") == tmp_path / "input" / "cat.png"
    assert paths.failure_file == tmp_path / "why"


def test_a_job_folders_env_leads_a_child_process_back_to_it(tmp_path):
    paths = JobPaths.in_folder(tmp_path)
    assert JobPaths.from_env(paths.env()) == paths


@pytest.mark.parametrize("name", ["../spec.json", "a/b.png", ".."])
def test_an_image_name_cannot_leave_the_input_folder(name):
    with pytest.raises(ValueError, match="plain file name"):
        JobPaths.from_env({}).image_file(name)
