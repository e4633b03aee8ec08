"""`make stage-model` copies a model's files into the project's bucket once; a job then finds them staged.

S3 is moto on 127.0.0.1; the Hugging Face download is a local folder (a tiny model's files stand in for
a hub repository: the same diffusers layout)."""

from __future__ import annotations

import json
import shutil

import boto3
import pytest

from processing_job.models import resolve_model
from processing_job.stage import MANIFEST, StageError, main, stage_model
from processing_job.weights import resolve_weights

BUCKET = "videobot-test-bucket"


@pytest.fixture
def s3(aws):
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def hub(model_cache, tmp_path):
    """A stand-in for the hub: what snapshot_download would leave for THUDM/CogVideoX-2b."""
    calls: list[tuple[str, str | None]] = []

    def download(hub_id, folder, revision):
        calls.append((hub_id, revision))
        shutil.copytree(model_cache / "tiny", folder)
        return folder

    download.calls = calls
    return download


def keys(s3, prefix=""):
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return sorted(item["Key"] for item in listing)


def test_a_model_is_staged_under_its_key_with_a_manifest(s3, hub, model_cache):
    result = stage_model(
        "2b", BUCKET, s3=s3, download=hub, revision_of=lambda _: "abc123", report=lambda _: None
    )
    assert hub.calls == [("THUDM/CogVideoX-2b", "abc123")]
    assert result.uri == f"s3://{BUCKET}/models/cogvideox-2b/" and not result.skipped
    staged = keys(s3, "models/cogvideox-2b/")
    assert "models/cogvideox-2b/model_index.json" in staged
    assert "models/cogvideox-2b/transformer/diffusion_pytorch_model.safetensors" in staged
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=f"models/cogvideox-2b/{MANIFEST}")["Body"].read())
    assert manifest["hub_id"] == "THUDM/CogVideoX-2b" and manifest["revision"] == "abc123"
    assert len(manifest["files"]) == result.files == len(staged) - 1


def test_staging_the_same_revision_again_downloads_nothing(s3, hub):
    stage_model("2b", BUCKET, s3=s3, download=hub, revision_of=lambda _: "abc123", report=lambda _: None)
    again = stage_model(
        "2b", BUCKET, s3=s3, download=hub, revision_of=lambda _: "abc123", report=lambda _: None
    )
    assert again.skipped and len(hub.calls) == 1


def test_a_new_hub_revision_is_staged_again(s3, hub):
    stage_model("2b", BUCKET, s3=s3, download=hub, revision_of=lambda _: "abc123", report=lambda _: None)
    newer = stage_model(
        "2b", BUCKET, s3=s3, download=hub, revision_of=lambda _: "def456", report=lambda _: None
    )
    assert not newer.skipped and newer.revision == "def456" and len(hub.calls) == 2


def test_staged_files_copied_to_a_job_are_found_as_staged(s3, hub, tmp_path):
    stage_model("2b", BUCKET, s3=s3, download=hub, revision_of=lambda _: "abc123", report=lambda _: None)
    model_dir = tmp_path / "processing" / "model"  # what SageMaker's S3 input fills
    for key in keys(s3, "models/cogvideox-2b/"):
        target = model_dir / key.removeprefix("models/cogvideox-2b/")
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(BUCKET, key, str(target))
    source = resolve_weights(resolve_model("2b"), model_dir, tmp_path / "empty-cache", hub_offline=True)
    assert (source.kind, source.location) == ("staged", str(model_dir))


def test_a_folder_of_another_pipeline_is_refused(s3, model_cache):
    with pytest.raises(StageError, match="holds a CogVideoXImageToVideoPipeline, but CogVideoX-2B needs"):
        stage_model("2b", BUCKET, s3=s3, from_folder=model_cache / "tiny-i2v", report=lambda _: None)
    assert keys(s3) == []


def test_the_command_stages_a_downloaded_folder(s3, model_cache, capsys):
    folder = str(model_cache / "tiny-i2v")
    assert main(["5b-i2v", "--bucket", BUCKET, "--prefix", "weights", "--from-folder", folder]) == 0
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert last_line.startswith(f"s3://{BUCKET}/weights/cogvideox-5b-i2v/: 11 files")
    assert main(["5b-i2v", "--bucket", BUCKET, "--prefix", "weights", "--from-folder", folder]) == 0
    assert "already staged" in capsys.readouterr().out


def test_the_command_explains_what_it_cannot_stage(s3, capsys):
    assert main(["tiny", "--bucket", BUCKET]) == 1
    assert "built locally by the job; there is nothing to stage" in capsys.readouterr().err
    assert main(["7b", "--bucket", BUCKET]) == 1
    assert "I don't know the model '7b'" in capsys.readouterr().err


def test_wan_2_2_is_staged_from_its_hub_id_and_found_staged_by_a_job(s3, model_cache, tmp_path):
    def download(hub_id, folder, revision):
        assert hub_id == "Wan-AI/Wan2.2-TI2V-5B-Diffusers"
        shutil.copytree(model_cache / "tiny-wan", folder)  # the same layout: a WanPipeline folder
        return folder

    result = stage_model(
        "wan2.2-5b", BUCKET, s3=s3, download=download, revision_of=lambda _: "r1", report=lambda _: None
    )
    assert f"models/wan2.2-5b/{MANIFEST}" in keys(s3)
    staged = tmp_path / "model"
    for key in keys(s3, "models/wan2.2-5b/"):
        target = staged / key.removeprefix("models/wan2.2-5b/")
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(BUCKET, key, str(target))
    assert resolve_weights(resolve_model("wan2.2-5b"), staged).kind == "staged"
    assert result.model == "wan2.2-5b"
