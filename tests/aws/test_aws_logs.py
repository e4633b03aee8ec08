"""What the functions write to CloudWatch, and what they load to answer Slack within 3 seconds."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap

import bot.runtime.logs
from tests.aws.conftest import BOT_TOKEN, SIGNING_SECRET, generate
from tests.conftest import CHANNEL


def test_logs_are_json_lines_with_session_and_job_ids_and_never_a_secret(deployed, alice, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")  # the most a deployment could ever print
    deployed.cold_start()
    written = io.StringIO()
    bot.runtime.logs.setup_logging(stream=written)
    root, job_id = generate(deployed, alice, "a fox")
    deployed.finish(job_id, "Completed")
    deployed.lam.wait_idle()
    text = written.getvalue()
    records = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    session = f"{CHANNEL}:{root.ts}"
    assert any(r.get("session") == session and r.get("job_id") == job_id for r in records)
    assert any(
        r.get("session") == session and r.get("name") == "bot.jobs.launchers.sagemaker" for r in records
    )
    assert BOT_TOKEN not in text
    assert SIGNING_SECRET not in text
    assert any(r["level"] == "DEBUG" for r in records)


def test_an_exception_is_logged_as_one_json_line_without_the_secret():
    written = io.StringIO()
    logger = bot.runtime.logs.setup_logging(stream=written, level="INFO")
    bot.runtime.logs.register_secrets(["s3cr3t-signing-value"])
    try:
        raise RuntimeError("bad signature with s3cr3t-signing-value and xoxb-9-9-zzz")
    except RuntimeError:
        with bot.runtime.logs.log_context(job_id="j-1"):
            logger.exception("it broke")
    [record] = [json.loads(line) for line in written.getvalue().splitlines()]
    assert record["job_id"] == "j-1" and record["exception_name"] == "RuntimeError"
    assert "s3cr3t-signing-value" not in written.getvalue() and "xoxb-9-9-zzz" not in written.getvalue()


ACK_ONLY = textwrap.dedent(
    """
    import base64, json, sys, time
    from urllib.parse import urlencode
    from slack_sdk.signature import SignatureVerifier
    import bot.runtime.lambda_handlers

    body = urlencode({"command": "/video", "text": "help", "user_id": "UALICE", "channel_id": "CVIDEOS",
                      "team_id": "TLOCAL", "trigger_id": "1.2.3", "response_url": "http://127.0.0.1:9/r"}).encode()
    stamp = str(int(time.time()))
    signature = SignatureVerifier(sys.argv[1]).generate_signature(timestamp=stamp, body=body)
    headers = {"content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": stamp,
               "x-slack-signature": signature}
    event = {"version": "2.0", "headers": headers, "requestContext": {"http": {"method": "POST"}},
             "body": base64.b64encode(body).decode(), "isBase64Encoded": True}

    class Context:
        function_name = "videobot-slack"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:videobot-slack"
        aws_request_id = "cold-start"

    class Lambda:  # the slow work's asynchronous self-invocation is only recorded here
        invoked = []

        def invoke(self, FunctionName, InvocationType, Payload):
            self.invoked.append(FunctionName)
            return {"StatusCode": 202}

    runner = bot.runtime.lambda_handlers.runtime().slack_handler().app.listener_runner
    runner.lazy_listener_runner.lambda_client = Lambda()
    answer = bot.runtime.lambda_handlers.handle_slack_request(event, Context())
    services = bot.runtime.lambda_handlers.runtime().services()
    clients = {"dynamodb": services.store.client, "s3": services.blobs.client,
               "sagemaker": services.launcher.client, "sqs": services.launcher.queue.client}
    heavy = ("torch", "diffusers", "transformers", "numpy", "PIL", "moto")
    print(json.dumps({
        "status": answer["statusCode"],
        "help": "Make a video" in answer["body"],
        "heavy": [m for m in heavy if m in sys.modules],
        "clients_made": [name for name, lazy in clients.items() if lazy._client is not None],
        "refiner_built": services.refiner._refiner is not None,
        "lazy_invocations": len(Lambda.invoked),
    }))
    """
)


def test_the_ack_path_of_a_cold_start_loads_no_generation_stack_and_makes_no_aws_clients(deployed):
    run = subprocess.run(  # a fresh interpreter: nothing imported yet, as on a new Lambda container
        [sys.executable, "-c", ACK_ONLY, SIGNING_SECRET],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen == {
        "status": 200,
        "help": True,
        "heavy": [],
        # One conditional write: the request's signature is claimed, so a replay gets 401
        # (bot/slack/listeners/replays.py).
        "clients_made": ["dynamodb"],
        "refiner_built": False,
        "lazy_invocations": 1,
    }
