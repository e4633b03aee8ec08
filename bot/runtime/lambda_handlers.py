"""The Lambda entrypoints: Slack requests, job events, the capacity-queue dispatcher, the sweeper.

    handle_slack_request    Function URL → Bolt's SlackRequestHandler (process_before_response); the
                            lazy listeners run in a second, asynchronous invocation of this function
    handle_job_event        EventBridge: SageMaker state changes of `videobot-*` jobs, render progress
    dispatch_queued_renders SQS (the capacity queue), with partial batch responses
    sweep_stale_renders     EventBridge schedule
    explain_unfinished_requests  SQS (the Slack function's dead letters): a lazy listener that died
                            is explained to the person who asked (bot.runtime.unfinished)

Everything is built on a container's first invocation (never at import) and kept for the next ones:
the settings, the boto3 session, the `Services`, the Bolt app. The Slack secret is read through
Powertools' cached provider on each invocation, so a rotated secret is picked up within minutes.

Exactly once, as people see it: a lazy listener runs at most once per Slack request (Powertools
idempotency on the request's id, in the sessions table), so neither Slack's retries
(`X-Slack-Retry-Num`) nor Lambda's own retries of the asynchronous invocation repeat its work; job
events are idempotent through the jobs' conditional transitions (`bot.jobs.delivery`).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.runtime.logs import deferred_log_context, log_context
from bot.slack.request_body import dig, json_object, slack_body

if TYPE_CHECKING:
    from slack_bolt.adapter.aws_lambda import SlackRequestHandler

    from bot.jobs.launchers.sagemaker import SageMakerJobLauncher
    from bot.runtime.compose import SlackSecrets
    from bot.runtime.services import Services

log = logging.getLogger(__name__)

LAZY_HEADER_PREFIX = "x-slack-bolt-lazy"
LAZY_FUNCTION_HEADER = "x-slack-bolt-lazy-function-name"
RETRY_HEADER = "x-slack-retry-num"
SIGNATURE_HEADERS = ("x-slack-request-timestamp", "x-slack-signature")
# How long a finished lazy listener is remembered: Slack retries within minutes, Lambda within hours.
IDEMPOTENCY_TTL_S = 6 * 3600
EXPLAIN_ATTEMPTS = 5  # tries to tell someone their request died, before the dead letter is let go

_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


class Runtime:
    """What one Lambda container keeps between invocations."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        import boto3

        from bot.runtime.compose import secrets_provider
        from bot.runtime.logs import setup_logging
        from bot.runtime.settings import ConfigError, Settings

        self.logger = setup_logging()
        settings = Settings.from_env(env)
        if settings.backend != "aws" or settings.aws is None:
            raise ConfigError("The Lambda functions run with VIDEOBOT_BACKEND=aws.")
        self.settings = settings
        self.aws = settings.aws
        self.session = boto3.session.Session()
        self._secrets_provider = secrets_provider(self.session)
        self._secrets: SlackSecrets | None = None
        self._services: Services | None = None
        self._slack: SlackRequestHandler | None = None
        self._run_lazy_once: Any = None
        self._channel_pictures: Any = None
        self._lock = threading.RLock()

    def services(self) -> Services:
        from bot.runtime.compose import build_aws_services, fetch_slack_secrets, with_slack_secrets

        with self._lock:
            secrets = fetch_slack_secrets(self.aws.slack_secret_arn, self._secrets_provider)
            if self._services is None or secrets != self._secrets:
                settings = with_slack_secrets(self.settings, secrets)
                self._services = build_aws_services(settings, session=self.session)
                self._secrets, self._slack = secrets, None
            return self._services

    def slack_handler(self, services: Services | None = None) -> SlackRequestHandler:
        """The Bolt handler for these `services` (just fetched by the caller), else for the current ones."""
        services = services or self.services()
        with self._lock:
            if self._slack is None:
                from slack_bolt.adapter.aws_lambda import SlackRequestHandler

                from bot.runtime.compose import LazyClient, boto_config
                from bot.slack.app import build_app

                self._slack = SlackRequestHandler(build_app(services))
                # Bolt would make its Lambda client (to start lazy listeners) from a new boto3 session on
                # the first ack; one from this session reuses the endpoint data already loaded, and is
                # only made when a lazy listener is first started (never in the lazy invocations).
                runner = self._slack.app.listener_runner.lazy_listener_runner
                runner.lambda_client = LazyClient(self.session, "lambda", boto_config())
            return self._slack

    def worth_handling(self, body: str, services: Services) -> bool:
        """Whether a signed request is the bot's business (bot.slack.relevance): judged from the body,
        with no AWS call but a channel's picture setting, read at most once a minute."""
        if not body.lstrip().startswith("{"):
            return True  # a command or an interaction (forms): only events are judged here
        from bot.slack.relevance import ChannelPictures, worth_handling

        with self._lock:
            if self._channel_pictures is None:
                default = self.settings.channel_pictures
                lookup = services.store.channel_pictures
                self._channel_pictures = ChannelPictures(lookup, default=default, clock=time.monotonic)
        every_picture = self._channel_pictures.takes_every_picture
        return worth_handling(
            slack_body(body), admins=self.settings.admins, takes_every_picture=every_picture
        )

    def run_lazy_once(self, event: dict[str, Any], context: Any, listener: str, request_id: str) -> Any:
        """Run one lazy listener for one Slack request, unless it has already run (or is running)."""
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyPersistenceLayerError,
        )

        run_once, config = self._lazy_runner()
        config.register_lambda_context(context)
        ran: list[bool] = []
        try:
            return run_once(
                slack_request={"listener": listener, "request": request_id},
                event=event,
                context=context,
                ran=ran,
            )
        except IdempotencyAlreadyInProgressError:
            log.info("%s for Slack request %s is running elsewhere", listener, request_id)
            return {"statusCode": 200, "body": "", "headers": {}}
        except IdempotencyPersistenceLayerError:
            if ran:  # the work is done; only its record couldn't be written
                log.warning("could not record that %s ran", listener, exc_info=True)
                return {"statusCode": 200, "body": "", "headers": {}}
            # The record couldn't be read or written: run anyway rather than leave the person waiting.
            # Lambda doesn't retry this invocation and replays are refused, so it runs once.
            log.warning("running %s without its idempotency record", listener, exc_info=True)
            return self.slack_handler().handle(event, context)

    def _lazy_runner(self) -> tuple[Any, Any]:
        with self._lock:
            if self._run_lazy_once is None:
                from aws_lambda_powertools.utilities.idempotency import (
                    DynamoDBPersistenceLayer,
                    IdempotencyConfig,
                    idempotent_function,
                )

                from bot.adapters.store.dynamodb import KEY, TTL_ATTRIBUTE
                from bot.runtime.compose import boto_config

                # The sessions table holds the records too (its key and TTL attribute).
                persistence = DynamoDBPersistenceLayer(
                    table_name=self.aws.table,
                    key_attr=KEY,
                    expiry_attr=TTL_ATTRIBUTE,
                    boto3_client=self.session.client("dynamodb", config=boto_config()),
                )
                config = IdempotencyConfig(expires_after_seconds=IDEMPOTENCY_TTL_S)

                @idempotent_function(
                    data_keyword_argument="slack_request",
                    persistence_store=persistence,
                    config=config,
                    key_prefix="slack-lazy",
                )
                def run(
                    slack_request: dict[str, str], event: dict[str, Any], context: Any, ran: list[bool]
                ) -> Any:
                    log.info(
                        "running %s for Slack request %s", slack_request["listener"], slack_request["request"]
                    )
                    ran.append(True)
                    return self.slack_handler().handle(event, context)

                self._run_lazy_once = (run, config)
            return self._run_lazy_once


def runtime() -> Runtime:
    """This container's runtime, built on first use."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = Runtime(os.environ)
        return _runtime


def reset_runtime() -> None:
    """Forget everything built so far: the next invocation is a cold start (tests use this)."""
    global _runtime
    with _runtime_lock:
        _runtime = None


# ------------------------------------------------------------------------------------------- handlers


def handle_slack_request(event: dict[str, Any], context: Any) -> dict[str, Any]:
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    with log_context(request_id=_request_id(context)):
        current = runtime()
        services = current.services()
        secret = services.settings.slack_signing_secret
        if is_lazy_invocation(event):
            # This function invoked itself (Lambda's IAM-checked Invoke; a Function URL event never
            # carries `method`). Lambda may retry it after Slack's five-minute signature window, so it
            # is stamped afresh rather than turned away by Bolt's verification.
            body = raw_body(event)
            with deferred_log_context(lambda: slack_log_keys(body)):
                listener = str(headers.get(LAZY_FUNCTION_HEADER))
                return current.run_lazy_once(
                    restamped(event, secret), context, listener, slack_request_id(body)
                )
        if not signed_by_slack(event, headers, secret):
            # Turned away before anything of the body is parsed (not even for the log's keys), so a
            # forged or garbled request costs one HMAC and gets 401, never an error.
            log.warning("refused a request without a valid Slack signature")
            return {"statusCode": 401, "body": '{"error": "invalid request"}', "headers": {}}
        body = raw_body(event)
        if not current.worth_handling(body, services):
            return {"statusCode": 200, "body": "", "headers": {}}  # acked and dropped: not ours, no AWS call
        # The channel, user and session keys cost a parse of the body: only done if a line is logged.
        with deferred_log_context(lambda: slack_log_keys(body)):
            if RETRY_HEADER in headers:
                log.info(
                    "Slack retry %s (%s)", headers[RETRY_HEADER], headers.get("x-slack-retry-reason", "")
                )
            return current.slack_handler(services).handle(without_lazy_headers(event), context)


def handle_job_event(event: dict[str, Any], context: Any) -> None:
    from bot.jobs.delivery import handle_job_event as deliver

    with log_context(request_id=_request_id(context)):
        current = runtime()
        services = current.services()
        deliver(_with_exit_message(event, _launcher(services)), services)


def dispatch_queued_renders(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from bot.jobs.capacity import dispatch_waiting_renders
    from bot.jobs.delivery import JobEventHandler

    with log_context(request_id=_request_id(context)):
        services = runtime().services()
        launcher = _launcher(services)
        return dispatch_waiting_renders(
            event,
            store=services.store,
            start=launcher.start,
            queue=launcher.queue,
            on_change=JobEventHandler(services).show_queue_position,
            context=context,
        )


def sweep_stale_renders(event: dict[str, Any], context: Any) -> dict[str, list[str]]:
    from bot.jobs.sweeper import sweep_stale_renders as sweep

    with log_context(request_id=_request_id(context)):
        current = runtime()
        services = current.services()
        report = sweep(
            services,
            _launcher(services),
            stale_after_s=current.aws.sweep_stale_after_s,
            max_queue_wait_s=current.aws.max_queue_wait_s,
        )
        return report.to_dict()


def explain_unfinished_requests(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from bot.runtime.unfinished import explain_unfinished

    with log_context(request_id=_request_id(context)):
        services = runtime().services()

        def explain(record: SQSRecord) -> None:
            if int(record.attributes.approximate_receive_count or 1) > EXPLAIN_ATTEMPTS:
                log.error("gave up telling anyone about dead letter %s", record.message_id)
                return  # Slack kept refusing: let it go rather than loop for the queue's 14 days
            explain_unfinished(
                json_object(record.body),  # the dead invocation's event
                record.message_id,
                chat=services.chat,
                store=services.store,
                clock=services.clock,
                slack_body=lambda invocation: slack_body(raw_body(invocation)),
            )

        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        answer = process_partial_response(
            event=event, record_handler=explain, processor=processor, context=context
        )
        return dict(answer)


# ------------------------------------------------------------------------------------------- helpers


def raw_body(event: Mapping[str, Any]) -> str:
    return _body_bytes(event).decode("utf-8", "replace")


def _body_bytes(event: Mapping[str, Any]) -> bytes:
    body = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return str(body).encode()
    try:
        return base64.b64decode(str(body), validate=True)
    except ValueError:
        return b""


def is_lazy_invocation(event: Mapping[str, Any]) -> bool:
    """Bolt's re-invocation of this function for a lazy listener (see LambdaLazyListenerRunner)."""
    headers = {str(k).lower() for k in (event.get("headers") or {})}
    return event.get("method") == "NONE" and LAZY_FUNCTION_HEADER in headers


def without_lazy_headers(event: dict[str, Any]) -> dict[str, Any]:
    """Headers aren't signed: from the URL, Bolt's lazy-only markers can only be someone's replay."""
    headers = event.get("headers") or {}
    kept = {k: v for k, v in headers.items() if not str(k).lower().startswith(LAZY_HEADER_PREFIX)}
    return {**event, "headers": kept}


def signed_by_slack(event: Mapping[str, Any], headers: Mapping[str, Any], secret: str) -> bool:
    """Slack's signature over the raw body, made within the last five minutes, and a UTF-8 body (which
    Slack always sends, and Bolt decodes)."""
    from bot.slack.signature import signed_by_slack as verify

    body = _body_bytes(event)
    timestamp = str(headers.get("x-slack-request-timestamp") or "")
    signature = str(headers.get("x-slack-signature") or "")
    if not verify(body, timestamp, signature, secret):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def restamped(event: dict[str, Any], secret: str) -> dict[str, Any]:
    """The event with a signature made now, over the same body."""
    from slack_sdk.signature import SignatureVerifier

    timestamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=_body_bytes(event))
    headers = {
        **{k: v for k, v in (event.get("headers") or {}).items() if str(k).lower() not in SIGNATURE_HEADERS},
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": signature,
    }
    return {**event, "headers": headers}


def slack_request_id(body: str) -> str:
    """What identifies one request from Slack across its retries: the event id, or the trigger id of
    a command or an interaction, else the body's digest (a retry repeats the body byte for byte)."""
    request = slack_body(body)
    found = (
        dig(request, "event_id")
        or dig(request, "trigger_id")
        or dig(request, "actions", 0, "action_ts")  # interactions without a trigger id
    )
    if isinstance(found, str) and found:
        return found
    return "sha256:" + hashlib.sha256(body.encode()).hexdigest()


def slack_log_keys(body: str) -> dict[str, str]:
    """Who and where, for the logs: channel, user, and the session (thread) when there is one.
    The body isn't verified yet: anything malformed just yields fewer keys."""
    from bot.conversation.sessions import session_key

    request = slack_body(body)
    if "event" in request:  # Events API
        channel, user = dig(request, "event", "channel"), dig(request, "event", "user")
        thread = dig(request, "event", "thread_ts")
    elif "channel_id" in request:  # a slash command
        channel, user, thread = request.get("channel_id"), request.get("user_id"), None
    else:  # an interaction
        channel = dig(request, "channel", "id") or dig(request, "container", "channel_id")
        user, thread = dig(request, "user", "id"), dig(request, "container", "thread_ts")
    keys = {"channel": channel, "user": user}
    if isinstance(channel, str) and isinstance(thread, str):
        keys["session"] = session_key(channel, thread)
    return {k: v for k, v in keys.items() if isinstance(v, str)}


def _request_id(context: Any) -> str | None:
    return getattr(context, "aws_request_id", None)


def _launcher(services: Services) -> SageMakerJobLauncher:
    from bot.jobs.launchers.sagemaker import SageMakerJobLauncher

    launcher = services.launcher
    if not isinstance(launcher, SageMakerJobLauncher):
        raise TypeError("the AWS entrypoints need the SageMaker launcher")
    return launcher


def _with_exit_message(event: dict[str, Any], launcher: SageMakerJobLauncher) -> dict[str, Any]:
    """A Failed event without the job's own sentence: ask SageMaker for it (DescribeProcessingJob
    returns `ExitMessage`, which the person should read rather than a generic reason)."""
    from bot.jobs.messages import JobStateChange, parse_job_event

    parsed = parse_job_event(event)
    if not isinstance(parsed, JobStateChange) or parsed.status != "Failed" or parsed.exit_message:
        return event
    described = launcher.describe(parsed.job_id)
    if described is None or not described.exit_message:
        return event
    detail = {**event["detail"], "ExitMessage": described.exit_message}
    if described.failure_reason and not detail.get("FailureReason"):
        detail["FailureReason"] = described.failure_reason
    return {**event, "detail": detail}
