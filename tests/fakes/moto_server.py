"""AWS on 127.0.0.1: moto's threaded server, so boto3 speaks real HTTP (signing, retries, parsing).

    with MotoServer() as aws:
        monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)   # every boto3 client goes there
        ...
        aws.reset()                                                  # an empty account again

`aws.sagemaker_job(name)` is moto's own record of a processing job: moto creates them `Completed`
and never runs them, so tests set `processing_job_status` (and `failure_reason`, `exit_message`)
to what SageMaker would report.

One difference from moto's own server: requests are handled one at a time. moto checks a DynamoDB
condition and writes the item in two steps without a lock, so two concurrent conditional writes can
both succeed there, which real DynamoDB never allows; serialising restores the per-item atomicity
that the jobs' transitions rely on.
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
# Variables that would send boto3 to a real account, or make it read this machine's profiles.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}


class _OneAtATimeMotoServer(ThreadedMotoServer):
    """moto's threaded server, with each request's backend work done under one lock."""

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()

        def one_at_a_time(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            with lock:
                return app(environ, start_response)

        self._server = make_server(
            self._ip_address, self._port, one_at_a_time, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


class MotoServer:
    def __init__(self) -> None:
        self._server = _OneAtATimeMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint_url = ""

    def start(self) -> MotoServer:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget every resource (moto's reset API)."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()

    @staticmethod
    def sagemaker_job(name: str) -> Any:
        """moto's record of a processing job (the server runs in this process)."""
        from moto.sagemaker.models import sagemaker_backends

        return sagemaker_backends[ACCOUNT][REGION].processing_jobs[name]

    @staticmethod
    def sagemaker_jobs() -> dict[str, Any]:
        from moto.sagemaker.models import sagemaker_backends

        return dict(sagemaker_backends[ACCOUNT][REGION].processing_jobs)
