"""The deployed bot, on 127.0.0.1: what the Slack-side benchmarks run against.

    with LocalDeployment(tmp) as deployment:
        os.environ.update(deployment.env)          # the variables the CDK stack gives the functions
        bot.aws.handle_slack_request(deployment.event(request), LambdaContext())

- AWS: moto's threaded server (DynamoDB, S3, SQS, Secrets Manager, SageMaker) with the stack's table,
  bucket, queue and Slack secret, reached over real HTTP through `AWS_ENDPOINT_URL`.
- Lambda's `Invoke` API (moto's runs every invocation in Docker): a small HTTP server that answers
  `202 Accepted` as Lambda does for `InvocationType=Event` and keeps the payloads, reached through
  `AWS_ENDPOINT_URL_LAMBDA`. The bot's boto3 Lambda client talks to it unchanged, so the cost of
  starting a lazy listener (the client, the signed request, the round trip) is on the timed path as on
  AWS, minus the network.
- Slack: the local stand-in (`bot.localslack`), a real Web API server.

Everything here is someone else's service played locally; the bot's code runs unchanged.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

SIGNING_SECRET = "bench-signing-secret-8d41c2"  # noqa: S105 - a local stand-in's secret
BOT_TOKEN = "xoxb-1111-2222-videobotbenchtoken"  # noqa: S105 - a local stand-in's token
ACCOUNT, REGION = "123456789012", "us-east-1"  # moto's default account
TABLE, BUCKET, QUEUE = "videobot-sessions", "videobot-media", "videobot-capacity"
SLACK_FUNCTION = "videobot-slack-requests"
ALICE, CHANNEL = "UALICE", "CVIDEOS"
# Variables that keep boto3 away from a real account and this machine's profiles.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}


@dataclass
class LambdaContext:
    """The fields of Lambda's context object that Bolt and Powertools read."""

    function_name: str = SLACK_FUNCTION
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def function_url_event(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """What a Lambda Function URL hands the function for an HTTP POST (payload format 2.0)."""
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "videobot0url",
            "domainName": "videobot0url.lambda-url.us-east-1.on.aws",
            "http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "3.3.3.3"},
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "timeEpoch": int(now * 1000),
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }


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
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer

        from bot.localslack import SlackStandIn

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
        self.workdir = workdir
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
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
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.lambda_api.start()
        self.slack.start()
        aws = {
            **AWS_ENV,
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
            "AWS_ENDPOINT_URL_LAMBDA": self.lambda_api.endpoint_url,
        }
        secret_arn = self._create_resources(aws)
        self.env = {**aws, **self._function_env(secret_arn)}
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.slack.stop()
        self.lambda_api.stop()
        self._moto.stop()

    def _create_resources(self, aws: dict[str, str]) -> str:
        """The table, bucket, queue and secret as the CDK stack creates them."""
        import boto3

        from bot.store.dynamodb import TABLE_SCHEMA, TTL_ATTRIBUTE

        session = boto3.session.Session(
            aws_access_key_id=aws["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=aws["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=aws["AWS_SESSION_TOKEN"],
            region_name=REGION,
        )

        def client(service: str) -> Any:
            return session.client(service, endpoint_url=aws["AWS_ENDPOINT_URL"])

        dynamodb = client("dynamodb")
        dynamodb.create_table(TableName=TABLE, **TABLE_SCHEMA)
        dynamodb.update_time_to_live(
            TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
        )
        client("s3").create_bucket(Bucket=BUCKET)
        self.queue_url = client("sqs").create_queue(QueueName=QUEUE)["QueueUrl"]
        secret = json.dumps({"signing_secret": SIGNING_SECRET, "bot_token": BOT_TOKEN})
        self.s3 = client("s3")
        return client("secretsmanager").create_secret(Name="videobot/slack", SecretString=secret)["ARN"]

    def _function_env(self, secret_arn: str) -> dict[str, str]:
        """The environment the CDK stack gives the functions (bot/aws_config.py)."""
        return {
            "VIDEOBOT_BACKEND": "aws",
            "VIDEOBOT_TABLE": TABLE,
            "VIDEOBOT_BUCKET": BUCKET,
            "VIDEOBOT_SLACK_SECRET_ARN": secret_arn,
            "VIDEOBOT_JOB_IMAGE_URI": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/videobot-job:bench",
            "VIDEOBOT_JOB_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/videobot-job",
            "VIDEOBOT_CAPACITY_QUEUE_URL": self.queue_url,
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
