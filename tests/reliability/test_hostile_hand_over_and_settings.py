"""Hostile hand-overs and absurd settings: a crafted entry in the warm jobs' queue (`warm/queue/…`, in
the bucket, against moto's S3 on 127.0.0.1 and the real warm loop) and prices or cost caps that are
no numbers a bill can have (the real settings parser, as a Lambda cold start reads it)."""

from __future__ import annotations

import pytest

from bot.runtime.settings import ConfigError, Settings
from processing_job.progress import NullSink
from processing_job.warm import StateReporter, WarmJob, WorkQueue, default_render
from tests.conversation.test_costs import AWS_ENV
from tests.processing_job.conftest import aws, moto_endpoint  # noqa: F401 - the fixtures

BUCKET = "warm-bucket"
POOL = "tiny--ml.m5.xlarge"


@pytest.fixture
def s3(aws):  # noqa: F811 - the fixture imported above
    import boto3

    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.mark.parametrize("entry", ["0000000000001-..", "0000000000001-.", "junk"])
def test_a_crafted_queue_entry_naming_no_render_is_never_taken_and_deletes_nothing(s3, tmp_path, entry):
    # A render's folder is <root>/<render>, emptied before use: ".." would be the root's parent.
    kept = tmp_path / "warm" / "kept.txt"
    kept.parent.mkdir()
    kept.write_text("someone else's work")
    s3.put_object(Bucket=BUCKET, Key=f"warm/queue/{POOL}/{entry}", Body=b"{}")
    queue = WorkQueue(s3, BUCKET)
    job = WarmJob(
        queue=queue,
        states=StateReporter(queue, "default", "host-1"),
        pool=POOL,
        host="host-1",
        root=tmp_path / "warm" / "renders",
        model_dir=tmp_path / "model",
        sink=NullSink(),
        render=default_render(None),
        idle_s=0.0,
        budget_s=3600.0,
        poll_s=0.01,
    )
    outcomes = job.run()
    assert kept.exists(), "the warm job emptied a folder outside its renders' root"
    assert outcomes == []
    assert queue.claimed_by(entry.partition("-")[2]) is None


@pytest.mark.parametrize("price", ["Infinity", "1e999"])
def test_an_instance_price_no_bill_can_have_is_a_clear_configuration_error(price):
    # Otherwise every estimate reads "about $inf" and a warm job's cost cap buys 0 seconds.
    with pytest.raises(ConfigError, match="US dollars per hour"):
        Settings.from_env({**AWS_ENV, "VIDEOBOT_INSTANCE_PRICES": f'{{"ml.g6e.2xlarge": {price}}}'})


@pytest.mark.parametrize("cap", ["nan", "inf"])
def test_a_cost_cap_that_is_no_amount_of_money_is_a_clear_configuration_error(cap):
    # NaN compared with anything is False: the cap would silently be off.
    with pytest.raises(ConfigError, match="cost cap"):
        Settings.from_env({**AWS_ENV, "VIDEOBOT_JOB_COST_CAP_USD": cap})
