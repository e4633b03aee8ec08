"""Weights come from the staged folder, then the cache, then (tiny) a local build, then the hub."""

from __future__ import annotations

import json
import shutil

import pytest

from processing_job.models import resolve_model
from processing_job.weights import WeightsError, model_cache_dir, resolve_weights

TWO_B = resolve_model("2b")
TINY = resolve_model("tiny")


@pytest.fixture
def staged(tmp_path, model_cache):
    folder = tmp_path / "model"
    shutil.copytree(model_cache / "tiny", folder)
    return folder


def test_staged_weights_come_first(staged, tmp_path):
    source = resolve_weights(TWO_B, staged, tmp_path / "cache", hub_offline=True)
    assert (source.kind, source.location) == ("staged", str(staged))


def test_a_model_in_the_cache_is_used_next(staged, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(staged, cache / TWO_B.key)
    source = resolve_weights(TWO_B, tmp_path / "empty", cache, hub_offline=True)
    assert (source.kind, source.location) == ("cache", str(cache / TWO_B.key))


def test_the_tiny_model_is_built_when_nothing_is_there(tmp_path, model_cache):
    assert resolve_weights(TINY, tmp_path / "empty", tmp_path / "cache").kind == "built"
    assert resolve_weights(TINY, tmp_path / "empty", model_cache).kind == "cache"


def test_otherwise_the_hub_id_is_used_when_online(tmp_path):
    source = resolve_weights(TWO_B, tmp_path / "empty", tmp_path / "cache", hub_offline=False)
    assert (source.kind, source.location) == ("hub", "THUDM/CogVideoX-2b")


def test_no_weights_and_no_hub_is_a_plain_sentence(tmp_path):
    with pytest.raises(WeightsError) as caught:
        resolve_weights(TWO_B, tmp_path / "empty", tmp_path / "cache", hub_offline=True)
    message = str(caught.value)
    assert message.startswith("The model weights for CogVideoX-2B were not found")
    assert "hub is offline" in message


def test_staged_weights_of_another_pipeline_are_refused(staged, tmp_path):
    index = json.loads((staged / "model_index.json").read_text())
    (staged / "model_index.json").write_text(
        json.dumps({**index, "_class_name": "CogVideoXImageToVideoPipeline"})
    )
    with pytest.raises(WeightsError, match="are for CogVideoXImageToVideoPipeline, but CogVideoX-2B needs"):
        resolve_weights(TWO_B, staged, tmp_path / "cache", hub_offline=True)


def test_the_cache_folder_comes_from_the_env(tmp_path):
    assert model_cache_dir({"VIDEOBOT_MODEL_CACHE": str(tmp_path)}) == tmp_path
    assert model_cache_dir({}).name == "models"
