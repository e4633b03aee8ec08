"""The bot as deployed on AWS, run here: the real Lambda handlers of `bot.aws`, moto's server on
127.0.0.1 for DynamoDB, S3, SQS, Secrets Manager and SageMaker, and the local Slack stand-in.

Slack's requests reach `handle_slack_request` as Function URL events (payload format 2.0); the lazy
listeners' asynchronous self-invocations go to `AsyncLambda`, which runs the same handler on a worker
thread with the JSON payload Lambda would get. Renders never run: a test plays SageMaker by writing
the job's outputs to S3, setting moto's job status, and delivering the EventBridge event.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

import bot.aws
from bot.blocks import GENERATE
from bot.localslack import AppResponse, Message, SlackStandIn
from bot.ports import SessionStore
from bot.store.dynamodb import DynamoDbSessionStore
from bot.store.sqlite import SqliteSessionStore
from processing_job.models import REGISTRY
from processing_job.weights import STAGED_MANIFEST
from tests.bot.conftest import ALICE, BOB, CHANNEL, Person, alice, bob, roots  # noqa: F401 - fixtures
from tests.fakes.aws_lambda import (
    JOB_ROLE,
    SLACK_FUNCTION,
    TABLE,
    LambdaContext,
    Resources,
    create_resources,
    function_url_event,
    progress_event,
    sqs_event,
    state_change_event,
)
from tests.fakes.moto_server import ACCOUNT, AWS_ENV, REGION, MotoServer

SIGNING_SECRET = "aws-test-signing-secret-5f1c"
BOT_TOKEN = "xoxb-1111-2222-videobottesttoken"
JOB_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/videobot-job:abc123"
VIDEO = b"\x00\x00\x00\x20ftypisom" + bytes(range(256)) * 4096  # ~1 MB standing in for the mp4


class AsyncLambda:
    """Lambda's `Invoke(InvocationType="Event")`, in this process: each invocation runs the handler on
    a worker thread with the JSON payload, as Lambda would. `repeat=2` delivers each one twice, as
    Lambda's retries of an asynchronous invocation can."""

    def __init__(self, handler: Callable[[dict[str, Any], Any], Any]) -> None:
        self.handler = handler
        self.repeat = 1
        self.hold = False  # record the invocations without running them (an invocation that got lost)
        self.invocations: list[dict[str, Any]] = []
        self.errors: list[BaseException] = []
        self._futures: list[Future[Any]] = []
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lambda")
        self._lock = threading.Lock()

    def invoke(self, FunctionName: str, InvocationType: str, Payload: str) -> dict[str, Any]:
        assert InvocationType == "Event", "lazy listeners are asynchronous invocations"
        assert FunctionName.endswith(f":function:{SLACK_FUNCTION}"), FunctionName
        with self._lock:
            for _ in range(self.repeat):
                self.invocations.append(json.loads(Payload))
                if not self.hold:
                    self._futures.append(self._pool.submit(self._run, json.loads(Payload)))
        return {"StatusCode": 202}

    def _run(self, event: dict[str, Any]) -> Any:
        try:
            return self.handler(event, LambdaContext())
        except BaseException as error:
            self.errors.append(error)
            raise

    def wait_idle(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                pending = [f for f in self._futures if not f.done()]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} lazy invocations still running")
            time.sleep(0.02)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class FakeBody:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    moto_server.reset()
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint_url)
    return moto_server


@pytest.fixture
def resources(aws: MotoServer) -> Resources:
    return create_resources(boto3.client, signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN)


@pytest.fixture(params=["dynamodb", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[SessionStore]:
    """The session store, once on DynamoDB (moto's server) and once on its SQLite twin."""
    if request.param == "sqlite":
        local = SqliteSessionStore(tmp_path / "sessions.db")
        yield local
        local.close()
    else:
        request.getfixturevalue("resources")
        yield DynamoDbSessionStore(TABLE, boto3.client("dynamodb"))


@pytest.fixture
def slack(tmp_path) -> Iterator[SlackStandIn]:
    with SlackStandIn(
        signing_secret=SIGNING_SECRET,
        bot_token=BOT_TOKEN,
        files_dir=tmp_path / "slack-files",
        users={ALICE: "alice", BOB: "bob"},
        channels={CHANNEL: "videos"},
    ) as stand_in:
        yield stand_in


@pytest.fixture
def lambda_env(resources: Resources, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment the CDK stack gives the functions."""
    env = {
        "VIDEOBOT_BACKEND": "aws",
        "VIDEOBOT_TABLE": resources.table,
        "VIDEOBOT_BUCKET": resources.bucket,
        "VIDEOBOT_SLACK_SECRET_ARN": resources.secret_arn,
        "VIDEOBOT_JOB_IMAGE_URI": JOB_IMAGE,
        "VIDEOBOT_JOB_ROLE_ARN": JOB_ROLE,
        "VIDEOBOT_CAPACITY_QUEUE_URL": resources.queue_url,
        "VIDEOBOT_JOB_INSTANCE_TYPES": json.dumps({"cogvideox-5b": "ml.g6e.4xlarge"}),
        "VIDEOBOT_JOB_MAX_RUNTIME_S": "1800",
        "VIDEOBOT_JOB_VOLUME_GB": "120",
        "VIDEOBOT_MODELS_PREFIX": "models",
        "VIDEOBOT_EVENT_BUS": "videobot-bus",
        "VIDEOBOT_CAPACITY_RETRY_S": "0",  # back-off steps of 0 s: the next dispatch finds the render
        "VIDEOBOT_MODEL": "2b",
        "VIDEOBOT_REFINER": "offline",
        "SLACK_API_URL": slack.api_url,
        "AWS_LAMBDA_FUNCTION_NAME": SLACK_FUNCTION,
        "POWERTOOLS_SERVICE_NAME": "videobot",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # As after `make stage-model` for every model: jobs get the staged weights (the hub path has its
    # own tests in test_sagemaker_launcher.py).
    for info in REGISTRY.values():
        staged = f"models/{info.key}/{STAGED_MANIFEST}"
        resources.s3.put_object(Bucket=resources.bucket, Key=staged, Body=b"{}")
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return env


class Deployment:
    """The deployed bot: its four handlers, and SageMaker's and EventBridge's parts played by hand."""

    def __init__(self, slack: SlackStandIn, resources: Resources, aws: MotoServer) -> None:
        self.slack, self.resources, self.aws = slack, resources, aws
        self.lam = AsyncLambda(bot.aws.handle_slack_request)
        self.requests: list[dict[str, Any]] = []

    def cold_start(self) -> None:
        """A new container: the environment is read again, everything is rebuilt."""
        bot.aws.reset_runtime()
        self.connect()

    def connect(self) -> None:
        handler = bot.aws.runtime().slack_handler()
        handler.app.listener_runner.lazy_listener_runner.lambda_client = self.lam
        self.slack.connect_app(self.function_url)

    def function_url(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        answer = bot.aws.handle_slack_request(function_url_event(body, headers), LambdaContext())
        raw = answer.get("body") or ""
        return (
            answer["statusCode"],
            dict(answer.get("headers") or {}),
            raw.encode() if isinstance(raw, str) else raw,
        )

    @property
    def services(self) -> Any:
        return bot.aws.runtime().services()

    # SageMaker's part

    def processing_job(self, job_id: str) -> Any:
        name = f"videobot-{job_id}"
        return self.slack.wait_until(
            lambda: self.aws.sagemaker_jobs().get(name), what=f"the processing job {name}"
        )

    def record_requests(self) -> list[dict[str, Any]]:
        """The CreateProcessingJob parameters as sent (moto doesn't echo resources or environment)."""

        def record(params: dict[str, Any], **_: Any) -> None:
            self.requests.append(json.loads(json.dumps(params)))

        client = self.services.launcher.client
        client.meta.events.register("provide-client-params.sagemaker.CreateProcessingJob", record)
        return self.requests

    def refuse_capacity(self, times: int, code: str = "ResourceLimitExceeded") -> None:
        """The next `times` CreateProcessingJob calls get SageMaker's quota error (moto has no quotas)."""
        left = {"n": times}

        def refuse(request: Any, **_: Any) -> AWSResponse | None:
            if left["n"] <= 0:
                return None
            left["n"] -= 1
            body = json.dumps({"__type": code, "message": "The account-level service limit is exceeded."})
            return AWSResponse(
                request.url, 400, {"Content-Type": "application/x-amz-json-1.1"}, FakeBody(body.encode())
            )

        client = self.services.launcher.client
        client.meta.events.register("before-send.sagemaker.CreateProcessingJob", refuse)

    def write_outputs(self, job_id: str, *, video: bytes | None = VIDEO) -> None:
        """What the processing job uploads from /opt/ml/processing/output when it ends."""
        prefix = f"renders/{job_id}/"
        if video is not None:
            self.resources.s3.put_object(Bucket=self.resources.bucket, Key=prefix + "video.mp4", Body=video)
            self.resources.s3.put_object(
                Bucket=self.resources.bucket, Key=prefix + "poster.jpg", Body=b"\xff\xd8"
            )
        result = {"job_id": job_id, "timings_s": {"total": 93.4}}
        self.resources.s3.put_object(
            Bucket=self.resources.bucket, Key=prefix + "result.json", Body=json.dumps(result).encode()
        )

    def set_status(
        self, job_id: str, status: str, *, failure_reason: str = "", exit_message: str = ""
    ) -> None:
        job = self.aws.sagemaker_job(f"videobot-{job_id}")
        job.processing_job_status = status
        if failure_reason:
            job.failure_reason = failure_reason
        if exit_message:
            job.exit_message = exit_message

    # EventBridge's part

    state_change = staticmethod(state_change_event)  # SageMaker's state change, as EventBridge delivers it
    progress = staticmethod(progress_event)  # the render's own progress event (the job puts it on the bus)

    def deliver(self, event: dict[str, Any]) -> None:
        bot.aws.handle_job_event(event, LambdaContext(function_name="videobot-job-events"))

    def finish(self, job_id: str, status: str = "Completed", **detail: Any) -> None:
        """SageMaker ends the job and EventBridge delivers the state change."""
        if status == "Completed":
            self.write_outputs(job_id)
        self.set_status(job_id, status)
        self.deliver(self.state_change(job_id, status, **detail))

    # the capacity queue and the schedule

    def waiting_messages(self, *, visible_after: float = 0) -> dict[str, Any]:
        """Receive the capacity queue's messages as the event source would, in an SQS event."""
        time.sleep(visible_after)
        answer = self.resources.sqs.receive_message(
            QueueUrl=self.resources.queue_url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return sqs_event(answer.get("Messages", []))

    def dispatch(self, event: dict[str, Any]) -> dict[str, Any]:
        return bot.aws.dispatch_queued_renders(event, LambdaContext(function_name="videobot-dispatcher"))

    def sweep(self) -> dict[str, list[str]]:
        return bot.aws.sweep_stale_renders(
            {"source": "aws.events"}, LambdaContext(function_name="videobot-sweeper")
        )


@pytest.fixture
def deployed(
    lambda_env: dict[str, str], slack: SlackStandIn, resources: Resources, aws: MotoServer
) -> Iterator[Deployment]:
    bot.aws.reset_runtime()  # a cold start for every test
    deployment = Deployment(slack, resources, aws)
    deployment.connect()
    yield deployment
    deployment.lam.wait_idle()
    deployment.lam.shutdown()
    bot.aws.reset_runtime()
    assert not deployment.lam.errors, f"a lazy invocation failed: {deployment.lam.errors!r}"


def job_id_of(root: Message, revision: int = 1) -> str:
    return f"{CHANNEL}-{root.ts.replace('.', '')}-r{revision}".lower()


def open_thread(person: Person, idea: str) -> Message:
    """`/video idea`; returns the new thread's root (waiting for this one, not an earlier one)."""
    before = {m.ts for m in roots(person.slack)}
    answer = person.slack.slash_command("/video", idea, user=person.user, channel=CHANNEL)
    assert answer.status == 200
    return person.slack.wait_until(
        lambda: next((m for m in roots(person.slack) if m.ts not in before), None), what="the new thread"
    )


def generate(deployed: Deployment, person: Person, idea: str) -> tuple[Message, str]:
    """`/video idea`, then Generate on the first draft; returns the thread's root and the job id, once
    SageMaker has the processing job."""
    root = open_thread(person, idea)
    person.click(person.draft_card(root), GENERATE)
    job_id = job_id_of(root)
    deployed.processing_job(job_id)
    return root, job_id


def refine_once(deployed: Deployment, person: Person, idea: str) -> tuple[Message, AppResponse]:
    """`/video idea` and one reply in its thread, both drafts shown and the slow work done; returns the
    thread's root and Slack's delivery of the reply (to send again)."""
    root = open_thread(person, idea)
    person.draft_card(root)
    person.reply(root, "make it night")
    person.draft_card(root, revision=2)
    deployed.lam.wait_idle()
    return root, [d for d in person.slack.deliveries if d.kind == "event_callback"][-1]
