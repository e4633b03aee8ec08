"""Ack latency: how long the Slack function takes to answer Slack, against a bare Bolt app.

    .venv/bin/python -m bench.ack            (prints the Markdown section)

This process plays one warm Lambda container (see DESCRIPTION below, which the report prints). Four
handlers take turns on the same kinds of request: a bare Bolt app that only acks, the same app also
deferring a do-nothing lazy listener, the bot with its lazy invocations caught in-process, and the bot
starting them through Lambda's `Invoke` API (a local endpoint). The bot's own AWS calls during an ack
are counted and timed through its boto3 session's event hooks.

Off the timed path, a few of the captured lazy invocations are then run as Lambda would run them, for
the Lambda duration of the slow work (the cost section uses it).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.deployment import BOT_TOKEN, SIGNING_SECRET, LocalDeployment
from bench.section import Say, Section, section_main
from bench.slack_requests import KINDS, RequestMaker, open_session
from bench.stats import Summary, ms, ratio, table, verdict
from tests.fakes.aws_lambda import LambdaContext

DESCRIPTION = (
    "One warm Lambda container, in one process: the bot is "
    "`bot.runtime.lambda_handlers.handle_slack_request` with the "
    "environment the CDK stack sets, moto on 127.0.0.1 for AWS and the Slack stand-in for Slack. The "
    "baseline is the plain library: `App(process_before_response=True)` behind Bolt's "
    "`SlackRequestHandler`, its listeners only acking, or acking and deferring a lazy listener that does "
    "nothing. Every handler gets the same three kinds of request, each one new, built and signed by the "
    "stand-in as Slack would; the handlers take turns request by request. The container's first requests "
    "(secret, `auth.test`, clients) are warm-up: the cold start has its own section."
)
REQUESTS = 500  # per kind and handler
WARM_UP = 20
LAZY_SAMPLES = 5  # lazy invocations run per kind, for their duration
RATIO_GOAL, P99_GOAL_S = 1.25, 0.100

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class CapturedInvocations:
    """Stands in for Bolt's boto3 Lambda client: keeps each asynchronous invocation's payload."""

    def __init__(self) -> None:
        self.payloads: list[bytes] = []

    def invoke(self, FunctionName: str, InvocationType: str, Payload: str) -> dict[str, Any]:
        self.payloads.append(Payload.encode())
        return {"StatusCode": 202}

    def take(self) -> list[bytes]:
        taken, self.payloads = self.payloads, []
        return taken


def bare_bolt_handler(api_url: str, lazy_client: CapturedInvocations | None = None) -> Handler:
    """The plain library on Lambda: Bolt's adapter and listeners that only ack; with `lazy_client`,
    each listener also starts a lazy listener that does nothing (Bolt's deferral, and nothing else)."""
    from slack_bolt import Ack, App
    from slack_bolt.adapter.aws_lambda import SlackRequestHandler
    from slack_sdk import WebClient

    app = App(
        signing_secret=SIGNING_SECRET,
        client=WebClient(token=BOT_TOKEN, base_url=api_url),
        process_before_response=True,
    )

    def only_ack(ack: Ack) -> None:
        ack()

    def nothing() -> None:
        pass

    for register in (app.command("/video"), app.event("message"), app.action(re.compile(".*"))):
        if lazy_client is None:
            register(only_ack)
        else:
            register(ack=only_ack, lazy=[nothing])
    handler = SlackRequestHandler(app)
    if lazy_client is not None:
        handler.app.listener_runner.lazy_listener_runner.lambda_client = lazy_client
    return handler.handle


VARIANTS = ("bare", "bare+lazy", "bot", "bot+invoke")


def run(say: Say, *, quick: bool = False, **_: Any) -> Section:
    requests = 40 if quick else REQUESTS
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request lines
    with (
        tempfile.TemporaryDirectory(prefix="videobot-bench-") as scratch,
        LocalDeployment(Path(scratch)) as world,
    ):
        os.environ.update(world.env)  # this process is the Lambda container
        import bot.runtime.lambda_handlers

        bot.runtime.lambda_handlers.reset_runtime()
        ours: Handler = bot.runtime.lambda_handlers.handle_slack_request
        meter = AwsCallMeter(
            bot.runtime.lambda_handlers.runtime().session
        )  # before the clients are made: they copy its hooks

        def run_lazy() -> None:
            for payload in world.lambda_api.take():
                bot.runtime.lambda_handlers.handle_slack_request(json.loads(payload), LambdaContext())

        say("ack bench: opening a session through the bot (the draft card to click)")
        root, card = open_session(world.slack, ours, run_lazy)
        maker = RequestMaker(world.slack, root, card)
        runner = (
            bot.runtime.lambda_handlers.runtime().slack_handler().app.listener_runner.lazy_listener_runner
        )
        captured, bare_captured = CapturedInvocations(), CapturedInvocations()
        over_http = (
            runner.lambda_client
        )  # the bot's own Lambda client (bot/runtime/lambda_handlers.py), as on AWS
        handlers: dict[str, Handler] = {
            "bare": bare_bolt_handler(world.slack.api_url),
            "bare+lazy": bare_bolt_handler(world.slack.api_url, bare_captured),
            "bot": ours,
            "bot+invoke": ours,
        }
        clients = {"bot": captured, "bot+invoke": over_http}

        say(f"ack bench: {requests} requests of each kind to each handler, taking turns")
        samples: dict[tuple[str, str], list[float]] = {(k, v): [] for k in KINDS for v in VARIANTS}
        aws_time: dict[tuple[str, str], list[float]] = {(k, v): [] for k in KINDS for v in VARIANTS}
        invocations: dict[str, int] = dict.fromkeys(KINDS, 0)
        lazy_payloads: dict[str, list[bytes]] = {k: [] for k in KINDS}
        calls_on_ack: dict[str, int] = {}
        for i in range(WARM_UP + requests):
            for kind in KINDS:
                order = VARIANTS[i % len(VARIANTS) :] + VARIANTS[: i % len(VARIANTS)]  # rotate who goes first
                for variant in order:
                    if variant in clients:
                        runner.lambda_client = clients[variant]
                    request = maker.make(kind)
                    event, context = request.event(), LambdaContext()
                    _, seconds_before = meter.reading()
                    operations_before = dict(meter.calls)
                    started = time.perf_counter()
                    answer = handlers[variant](event, context)
                    elapsed = time.perf_counter() - started
                    if answer["statusCode"] != 200:
                        raise RuntimeError(f"{variant} answered {kind} with {answer['statusCode']}: {answer}")
                    started_lazily = captured.take() + world.lambda_api.take()
                    bare_captured.take()
                    if i >= WARM_UP:
                        samples[kind, variant].append(elapsed)
                        aws_time[kind, variant].append(meter.reading()[1] - seconds_before)
                        if variant.startswith("bot"):
                            invocations[kind] += len(started_lazily)
                            for operation, count in meter.calls.items():
                                made = count - operations_before.get(operation, 0)
                                if made:
                                    calls_on_ack[operation] = calls_on_ack.get(operation, 0) + made
                            if len(lazy_payloads[kind]) < LAZY_SAMPLES:
                                lazy_payloads[kind] += started_lazily

        say("ack bench: running a few of the lazy invocations, for their duration")
        lazy = {kind: _run_lazy(ours, payloads, meter) for kind, payloads in lazy_payloads.items()}
        bot.runtime.lambda_handlers.reset_runtime()

    summaries = {key: Summary.of(values) for key, values in samples.items()}
    # The same requests with the time spent in the bot's own AWS calls taken out: the code's cost.
    own = {
        key: Summary.of([t - a for t, a in zip(samples[key], aws_time[key], strict=True)]) for key in samples
    }
    return _section(summaries, own, invocations, calls_on_ack, lazy, requests)


class AwsCallMeter:
    """Counts and times the calls the bot's boto3 session makes (DynamoDB, S3, SQS, SageMaker, Secrets
    Manager), by operation: what of an ack's time goes to AWS calls, botocore's work included."""

    def __init__(self, session: Any) -> None:
        self.calls: dict[str, int] = {}
        self.seconds = 0.0
        self._started: dict[int, float] = {}
        # From the first event of a call (before botocore validates and serialises) to the parsed answer.
        session.events.register("provide-client-params", self._before)
        session.events.register("after-call", self._after)

    def _before(self, model: Any, **_: Any) -> None:
        self._started[id(model)] = time.perf_counter()
        name = f"{model.service_model.service_id} {model.name}"
        self.calls[name] = self.calls.get(name, 0) + 1

    def _after(self, model: Any, **_: Any) -> None:
        started = self._started.pop(id(model), None)
        if started is not None:
            self.seconds += time.perf_counter() - started

    def reading(self) -> tuple[int, float]:
        return sum(self.calls.values()), self.seconds


def _run_lazy(handler: Handler, payloads: list[bytes], meter: AwsCallMeter) -> tuple[Summary, str] | None:
    """The lazy invocations' durations, and the AWS calls one of them makes (idempotency included)."""
    if not payloads:
        return None
    durations, before = [], dict(meter.calls)
    for payload in payloads:
        started = time.perf_counter()
        handler(json.loads(payload), LambdaContext())
        durations.append(time.perf_counter() - started)
    made = {op: (n - before.get(op, 0)) / len(payloads) for op, n in meter.calls.items()}
    calls = ", ".join(f"{op} ×{n:g}" for op, n in sorted(made.items()) if n)
    return Summary.of(durations), calls


def _section(
    summaries: dict[tuple[str, str], Summary],
    own: dict[tuple[str, str], Summary],
    invocations: dict[str, int],
    calls_on_ack: dict[str, int],
    lazy: dict[str, tuple[Summary, str] | None],
    requests: int,
) -> Section:
    def pair(s: Summary) -> str:
        return f"{ms(s.p50)} / {ms(s.p99)}"

    rows, invoke_rows, figures = [], [], {}
    worst_ratio, worst_own_ratio, worst_p99 = 0.0, 0.0, 0.0
    for kind in KINDS:
        bare, deferred = summaries[kind, "bare"], summaries[kind, "bare+lazy"]
        mine, invoking, mine_own = summaries[kind, "bot"], summaries[kind, "bot+invoke"], own[kind, "bot"]
        worst_ratio = max(worst_ratio, mine.p50 / deferred.p50)
        worst_own_ratio = max(worst_own_ratio, mine_own.p50 / deferred.p50)
        worst_p99 = max(worst_p99, invoking.p99, mine.p99)
        rows.append(
            [
                kind,
                pair(bare),
                pair(deferred),
                pair(mine),
                f"**{ratio(mine.p50, deferred.p50)}** / {ratio(mine.p99, deferred.p99)}",
                f"{ratio(mine.p50, bare.p50)} / {ratio(mine.p99, bare.p99)}",
                f"{pair(mine_own)} ({ratio(mine_own.p50, deferred.p50)})",
            ]
        )
        invoke_rows.append([kind, pair(invoking), f"{(invoking.p50 - mine.p50) * 1000:+.1f}"])
        figures[kind] = {variant: summaries[kind, variant].to_dict() for variant in VARIANTS}
        figures[kind]["bot_without_aws_calls"] = mine_own.to_dict()
    ran = {kind: found for kind, found in lazy.items() if found is not None}
    lazy_rows = [[kind, ms(s.p50), ms(s.p99), str(s.n), calls] for kind, (s, calls) in ran.items()]
    figures["lazy"] = {kind: s.to_dict() for kind, (s, _) in ran.items()}
    acks = sum(s.n for (_, variant), s in summaries.items() if variant.startswith("bot"))
    figures["aws_calls_per_ack"] = {op: n / acks for op, n in calls_on_ack.items()}
    started = sum(invocations.values())
    # The Lambda `Invoke` (the bot+invoke runs) has a table of its own below.
    calls_on_ack = {op: n for op, n in calls_on_ack.items() if not op.startswith("Lambda ")}
    if calls_on_ack:
        made = ", ".join(f"`{op}` ×{n / acks:.2f}" for op, n in sorted(calls_on_ack.items()))
        aws_note = (
            f"- The bot's own AWS requests during an ack (not counting the `Invoke`): {made} per "
            "ack. They are "
            "the difference between the last two columns: with them taken out, the worst p50 ratio is "
            f"{worst_own_ratio:.2f}×."
        )
    else:
        aws_note = (
            "- The bot's own AWS requests during the acks: **none** (the Slack secret is cached for five "
            "minutes; the Powertools idempotency record is written by the lazy invocation, not the ack)."
        )
    text = "\n".join(
        [
            "## Ack latency (the Slack function, warm)",
            DESCRIPTION,
            "",
            "Milliseconds, p50 / p99, per request; each handler's lazy invocations are caught in-process "
            "(the Lambda `Invoke` call is measured on its own below):",
            "",
            table(
                [
                    "request",
                    "bare Bolt, ack only",
                    "bare Bolt, ack + lazy no-op",
                    "bot",
                    "bot ÷ bare with lazy",
                    "bot ÷ bare ack only",
                    "bot less its AWS calls (÷ bare with lazy)",
                ],
                rows,
                "lrrrrrr",
            ),
            "",
            f"- {requests} requests of each kind per handler, after {WARM_UP} warm-up requests each; "
            f"{started} lazy listeners started for {acks} acks.",
            f"- Goal: ratio ≤ {RATIO_GOAL} like for like, against the bare app that defers its work "
            "the same way "
            f"(a lazy listener): {verdict(worst_ratio <= RATIO_GOAL)}, worst p50 ratio {worst_ratio:.2f}×. "
            "Against the app that only acks, the bot also pays for Bolt's lazy-listener machinery, which "
            "deep-copies the request (the button click's body carries the whole message) to hand it to the "
            "second invocation: Bolt's cost of deferring, not the bot's.",
            f"- p99 well under {P99_GOAL_S * 1000:.0f} ms: {verdict(worst_p99 < P99_GOAL_S / 2)} (worst "
            f"{ms(worst_p99)} ms, the `Invoke` call included).",
            aws_note,
            "- What else the bot does in an ack: its own signature check before Bolt's (so a forged "
            "body never "
            "reaches the parser), the cached-secret lookup, the log context (the body is parsed for it only "
            "if a line is logged), and the listener's checks (`/video`: flags, limits and allow-lists, so a "
            "mistake is answered at once).",
            "",
            "Starting the lazy listener through Lambda's `Invoke` API, as on AWS (the bot's boto3 Lambda "
            "client: request signing and the HTTP round trip to a local endpoint that answers 202; on AWS "
            "add the in-region network, a few ms):",
            "",
            table(
                ["request", "bot with Invoke (ms, p50 / p99)", "Invoke adds (ms, p50)"], invoke_rows, "lrr"
            ),
            "",
            "The slow work, run afterwards as Lambda runs it (the second invocation, Powertools idempotency "
            "included; offline refiner, moto and the stand-in here: on AWS Bedrock's answer dominates the "
            "refinements, see the cost section):",
            "",
            table(
                ["lazy listener of", "p50 (ms)", "p99 (ms)", "runs", "AWS calls per run (the bot's clients)"],
                lazy_rows,
                "lrrrl",
            ),
        ]
    )
    headline = (
        f"**Ack latency** (warm): bot p50 ÷ bare Bolt with a lazy listener, worst of three kinds "
        f"**{worst_ratio:.2f}×** (goal ≤ {RATIO_GOAL}: {verdict(worst_ratio <= RATIO_GOAL)}; "
        f"{worst_own_ratio:.2f}× without its AWS calls); worst p99 **{ms(worst_p99)} ms** with the `Invoke` "
        f"(goal well under 100 ms: {verdict(worst_p99 < P99_GOAL_S / 2)})."
    )
    return Section("ack", text, figures, headline)


if __name__ == "__main__":
    section_main(run)
