"""What the App Home tab needs of the stores, kept alike by both twins: a person's defaults for new
sessions (written conditionally, like everything else), a person's newest jobs, and a deleted video's
stored render gone from the blob store (S3 on moto's server, and a folder)."""

from __future__ import annotations

from dataclasses import replace

import boto3
import pytest

from bot.adapters.blobs.filesystem import FilesystemBlobStore
from bot.adapters.blobs.s3 import S3BlobStore
from bot.conversation.defaults import UserDefaults, defaults_for
from bot.conversation.ports import Conflict
from tests.aws.test_session_store_twins import a_job
from tests.fakes.aws_lambda import BUCKET


def test_a_person_without_defaults_starts_from_the_workspaces(store):
    assert store.user_defaults("U1") is None
    assert defaults_for(store, "U1") == UserDefaults(user="U1", model=None, quality=None, aspect="auto")


def test_defaults_read_back_as_written_for_that_person_only(store):
    saved = store.save_user_defaults(UserDefaults(user="U1", model="tiny", quality="draft", aspect="9:16"))
    assert saved.version == 1
    assert store.user_defaults("U1") == saved
    assert store.user_defaults("U2") is None


def test_a_stale_write_of_defaults_is_refused(store):
    first = store.save_user_defaults(UserDefaults(user="U1", quality="draft"))
    store.save_user_defaults(replace(first, aspect="1:1"))
    with pytest.raises(Conflict):
        store.save_user_defaults(replace(first, aspect="16:9"))
    with pytest.raises(Conflict):
        store.save_user_defaults(UserDefaults(user="U1"))  # a second "first choice"
    assert store.user_defaults("U1").aspect == "1:1"


def test_a_persons_newest_jobs_are_listed_up_to_a_limit(store):
    for n in range(5):
        store.create_job(a_job(f"job-{n}", created_at=10.0 + n))
    store.create_job(a_job("someone-else", created_at=99.0, owner="U2"))
    assert [j.job_id for j in store.jobs_for_owner("U1", limit=2)] == ["job-4", "job-3"]
    assert len(store.jobs_for_owner("U1")) == 5


@pytest.fixture(params=["s3", "filesystem"])
def blobs(request, tmp_path):
    if request.param == "filesystem":
        return FilesystemBlobStore(tmp_path / "blobs")
    request.getfixturevalue("resources")
    return S3BlobStore(BUCKET, boto3.client("s3"))


def test_deleting_a_renders_folder_deletes_everything_in_it_and_nothing_else(blobs):
    for name in ("video.mp4", "poster.jpg", "result.json", "stages/upscale.mp4"):
        blobs.put(f"renders/j1/{name}", b"x")
    blobs.put("renders/j10/video.mp4", b"another render's")
    blobs.delete_folder("renders/j1")
    assert not any(blobs.exists(f"renders/j1/{n}") for n in ("video.mp4", "poster.jpg", "stages/upscale.mp4"))
    assert blobs.exists("renders/j10/video.mp4")
    blobs.delete_folder("renders/j1")  # already gone: fine
