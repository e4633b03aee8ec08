"""The deployed bot, on 127.0.0.1: what the Slack-side benchmarks run against.

    with LocalDeployment(tmp) as deployment:
        os.environ.update(deployment.env)          # the variables the CDK stack gives the functions
        bot.runtime.lambda_handlers.handle_slack_request(deployment.event(request), LambdaContext())

- AWS: moto's threaded server (DynamoDB, S3, SQS, Secrets Manager, SageMaker) with the stack's table,
  bucket, queue and Slack secret, reached over real HTTP through `AWS_ENDPOINT_URL`; the same as the
  AWS tests use (tests/fakes/).
- Lambda's `Invoke` API (moto's runs every invocation in Docker): a small HTTP server that answers
  `202 Accepted` as Lambda does for `InvocationType=Event` and keeps the payloads, reached through
  `AWS_ENDPOINT_URL_LAMBDA`. The bot's boto3 Lambda client talks to it unchanged, so the cost of
  starting a lazy listener (the client, the signed request, the round trip) is on the timed path as on
  AWS, minus the network.
- Slack: the local stand-in (`localslack`), a real Web API server.

Everything here is someone else's service played locally; the bot's code runs unchanged.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.fakes.aws_lambda import (
    ACCOUNT,
    BUCKET,
    JOB_ROLE,
    REGION,
    SLACK_FUNCTION,
    TABLE,
    create_resources,
)
from tests.fakes.moto_server import AWS_ENV, MotoServer

SIGNING_SECRET = "bench-signing-secret-8d41c2"  # noqa: S105 - a local stand-in's secret
BOT_TOKEN = "xoxb-1111-2222-videobotbenchtoken"  # noqa: S105 - a local stand-in's token
ALICE, CHANNEL = "UALICE", "CVIDEOS"


class LambdaInvokeStandIn:
    """Lambda's Invoke endpoint for asynchronous invocations: 202 and nothing else; payloads are kept
    (their count is what the benchmarks check), never run."""

    def __init__(self) -> None:
        self.payloads: list[bytes] = []
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with stand_in._lock:
                    stand_in.payloads.append(body)
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> LambdaInvokeStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def take(self) -> list[bytes]:
        with self._lock:
            taken, self.payloads = self.payloads, []
        return taken


class LocalDeployment:
    """moto, the Lambda Invoke stand-in and the Slack stand-in, with the stack's resources created."""

    def __init__(self, workdir: Path) -> None:
        from localslack import SlackStandIn

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
        self.workdir = workdir
        self._moto = MotoServer()
        self.lambda_api = LambdaInvokeStandIn()
        self.slack = SlackStandIn(
            signing_secret=SIGNING_SECRET,
            bot_token=BOT_TOKEN,
            files_dir=workdir / "slack-files",
            users={ALICE: "alice"},
            channels={CHANNEL: "videos"},
        )
        self.env: dict[str, str] = {}

    def __enter__(self) -> LocalDeployment:
        import boto3

        self._moto.start()
        self._moto.reset()  # an empty account: moto's accounts outlive its servers in a process
        self.lambda_api.start()
        self.slack.start()
        aws = {
            **AWS_ENV,
            "AWS_ENDPOINT_URL": self._moto.endpoint_url,
            "AWS_ENDPOINT_URL_LAMBDA": self.lambda_api.endpoint_url,
        }
        session = boto3.session.Session(
            aws_access_key_id=aws["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=aws["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=aws["AWS_SESSION_TOKEN"],
            region_name=REGION,
        )
        self.resources = create_resources(
            lambda service: session.client(service, endpoint_url=aws["AWS_ENDPOINT_URL"]),
            signing_secret=SIGNING_SECRET,
            bot_token=BOT_TOKEN,
        )
        self.env = {**aws, **self._function_env()}
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.slack.stop()
        self.lambda_api.stop()
        self._moto.stop()

    def _function_env(self) -> dict[str, str]:
        """The environment the CDK stack gives the functions (bot/runtime/aws_settings.py)."""
        return {
            "VIDEOBOT_BACKEND": "aws",
            "VIDEOBOT_TABLE": TABLE,
            "VIDEOBOT_BUCKET": BUCKET,
            "VIDEOBOT_SLACK_SECRET_ARN": self.resources.secret_arn,
            "VIDEOBOT_JOB_IMAGE_URI": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/videobot-job:bench",
            "VIDEOBOT_JOB_ROLE_ARN": JOB_ROLE,
            "VIDEOBOT_CAPACITY_QUEUE_URL": self.resources.queue_url,
            "VIDEOBOT_JOB_INSTANCE_TYPES": json.dumps({"cogvideox-5b": "ml.g6e.2xlarge"}),
            "VIDEOBOT_JOB_MAX_RUNTIME_S": "1800",
            "VIDEOBOT_JOB_VOLUME_GB": "120",
            "VIDEOBOT_MODELS_PREFIX": "models",
            "VIDEOBOT_EVENT_BUS": "videobot-bus",
            "VIDEOBOT_MODEL": "5b",
            "VIDEOBOT_REFINER": "offline",
            "SLACK_API_URL": self.slack.api_url,
            "AWS_LAMBDA_FUNCTION_NAME": SLACK_FUNCTION,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "POWERTOOLS_SERVICE_NAME": "videobot",
            "POWERTOOLS_LOG_LEVEL": "WARNING",  # a benchmark's stdout is its report
        }
