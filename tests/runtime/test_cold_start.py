"""A new Lambda container makes only what its first Slack request uses (bench/cold_start.py times it).

The subprocess tests are fresh interpreters, as a new container is, against the deployment the
benchmarks use: moto's server for AWS, a Lambda `Invoke` endpoint that answers 202, the Slack stand-in.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import UnknownServiceError

from bench.cold_start import video_command_event
from bench.deployment import LocalDeployment
from bot.runtime.aws_session import AWS_SERVICES, lambda_session
from bot.runtime.compose import SECRET_MAX_AGE_S, CachedSecrets, fetch_slack_secrets
from bot.runtime.lambda_handlers import handle_slack_request, reset_runtime, runtime
from bot.runtime.settings import ConfigError
from tests.fakes.aws_lambda import LambdaContext
from tests.fakes.moto_server import AWS_ENV, MotoServer

REPO = Path(__file__).resolve().parents[2]
# A new container's first Slack request: the clients it makes, in order, and what it imported.
FIRST_REQUEST = """
import gc, json, sys
import botocore.session
import bot.runtime.lambda_handlers as handlers
from tests.fakes.aws_lambda import LambdaContext

made, collector_on = [], []
make_client = botocore.session.Session.create_client
def recording(self, service_name, *args, **kwargs):
    made.append(service_name)
    return make_client(self, service_name, *args, **kwargs)
botocore.session.Session.create_client = recording
check_signature = handlers.signed_by_slack
def noting(*args):
    collector_on.append(gc.isenabled())
    return check_signature(*args)
handlers.signed_by_slack = noting

event = json.loads(sys.argv[1])
first = handlers.handle_slack_request(event, LambdaContext())["statusCode"]
handlers.handle_slack_request(event, LambdaContext())  # the same request again, warm (a replay)
print(json.dumps({
    "status": first, "clients": made, "collector_on": collector_on, "collector_now": gc.isenabled(),
    "frozen": gc.get_freeze_count(), "modules": sorted(sys.modules),
}))
"""


def fresh_interpreter(code: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {}), "PYTHONPATH": str(REPO)},
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def first_request(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], int]]:
    """The first request's record, and how many lazy listeners it started through Lambda's `Invoke`."""
    with LocalDeployment(tmp_path_factory.mktemp("deployment")) as world:
        record = fresh_interpreter(FIRST_REQUEST, video_command_event(), env=world.env)
        yield record, len(world.lambda_api.take())


def test_importing_the_lambda_handlers_loads_no_aws_sdk_slack_library_or_model_registry():
    code = "import json, sys, bot.runtime.lambda_handlers; print(json.dumps({'m': sorted(sys.modules)}))"
    loaded = {m.split(".")[0] for m in fresh_interpreter(code)["m"]}
    later = {"boto3", "botocore", "slack_bolt", "slack_sdk", "aws_lambda_powertools", "processing_job"}
    assert not later & loaded


def test_a_first_slack_request_makes_only_the_aws_clients_it_uses(first_request):
    record, invoked = first_request
    assert record["status"] == 200
    # The Slack secret, the replay check, the lazy listener's Invoke: no S3, SQS, SageMaker or Bedrock.
    assert record["clients"] == ["secretsmanager", "dynamodb", "lambda"]
    assert invoked == 1


def test_a_first_slack_request_leaves_the_slow_works_machinery_and_pictures_for_later(first_request):
    record, _ = first_request
    modules = set(record["modules"])
    assert "aws_lambda_powertools.utilities.idempotency" not in modules  # the lazy invocation's
    assert "bot.jobs.delivery" not in modules  # the job events'
    assert not {"PIL", "numpy", "processing_job.images"} & modules


def test_a_containers_first_invocation_runs_without_the_cyclic_collector_and_freezes_what_it_built(
    first_request,
):
    record, _ = first_request
    assert record["collector_on"] == [False, True]  # the first request, then a warm one
    assert record["collector_now"] is True
    assert record["frozen"] > 0


def test_a_warm_ack_calls_aws_only_to_check_for_a_replay_and_to_start_the_slow_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    with LocalDeployment(tmp_path) as world:
        for name, value in world.env.items():
            monkeypatch.setenv(name, value)
        reset_runtime()
        try:
            calls: list[str] = []

            def record(model: Any, **_: Any) -> None:
                calls.append(f"{model.service_model.service_id} {model.name}")

            runtime().session.events.register("before-call", record)  # before any client copies its hooks
            first = handle_slack_request(json.loads(video_command_event("a fox")), LambdaContext())
            calls.clear()
            warm = handle_slack_request(json.loads(video_command_event("a heron")), LambdaContext())
        finally:
            reset_runtime()
        assert (first["statusCode"], warm["statusCode"]) == (200, 200)
        assert calls == ["DynamoDB PutItem", "Lambda Invoke"]
        assert len(world.lambda_api.take()) == 2


def test_a_reset_runtime_lets_the_collector_reach_what_the_last_cold_start_froze():
    gc.freeze()
    try:
        reset_runtime()
        assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()


@pytest.fixture
def aws_region(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("service", AWS_SERVICES)
def test_the_lambda_session_makes_each_of_the_bots_clients_from_botocores_own_models(aws_region, service):
    ours, botocores = lambda_session().client(service), boto3.session.Session().client(service)
    assert ours.meta.endpoint_url == botocores.meta.endpoint_url  # the same endpoint data
    assert ours.meta.service_model.signing_name == botocores.meta.service_model.signing_name

    def described(client: Any) -> dict[str, Any]:
        model = client.meta.service_model
        return {
            name: [(member, shape.type_name) for member, shape in operation.input_shape.members.items()]
            for name in model.operation_names
            if (operation := model.operation_model(name)).input_shape is not None
        }

    assert described(ours) == described(botocores)


def test_the_lambda_session_refuses_a_service_the_bot_does_not_use_by_name(aws_region):
    with pytest.raises(UnknownServiceError, match="dynamodb"):
        lambda_session().client("ec2")


@pytest.fixture
def secretsmanager(aws_region, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with MotoServer() as aws:
        aws.reset()  # moto's accounts live in this process, past one server
        monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
        yield lambda_session().client("secretsmanager")


def test_a_rotated_slack_secret_is_read_again_once_the_cached_one_is_five_minutes_old(secretsmanager):
    arn = secretsmanager.create_secret(Name="slack", SecretString='{"signing_secret": "one"}')["ARN"]
    now = [1000.0]
    secrets = CachedSecrets(secretsmanager, clock=lambda: now[0])
    assert secrets.get(arn, transform="json", max_age=SECRET_MAX_AGE_S) == {"signing_secret": "one"}
    secretsmanager.put_secret_value(SecretId=arn, SecretString='{"signing_secret": "two"}')
    now[0] += SECRET_MAX_AGE_S - 1
    assert secrets.get(arn, transform="json", max_age=SECRET_MAX_AGE_S) == {"signing_secret": "one"}
    now[0] += 1
    assert secrets.get(arn, transform="json", max_age=SECRET_MAX_AGE_S) == {"signing_secret": "two"}


def test_a_slack_secret_that_is_not_json_is_refused_with_what_it_should_hold(secretsmanager):
    arn = secretsmanager.create_secret(Name="slack", SecretString="xoxb-not-json")["ARN"]
    with pytest.raises(ConfigError, match="signing_secret"):
        fetch_slack_secrets(arn, CachedSecrets(secretsmanager))
