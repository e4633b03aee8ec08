"""What the reliability suite did and saw, counted as it runs, and written out as docs/reliability.md.

Every test records its cases here: the faults it injected and where, the requests it sent, and what
people ended up with (a video, an explanation, nothing, or something twice); the inputs it tried and
how they were answered; the load run's figures. The page holds counts, so it only changes when the
suite does; the load test's ack times are the one measured figure, kept while they stay within a
factor of three so that ordinary jitter doesn't rewrite the page on every run (the terminal has each
run's own).
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field

PAGE_TITLE = "# Reliability: faults, load and hostile input"
STEADY_FACTOR = 3
HOW_COUNTED = """\
## How a case is counted

A request is one person's `/video`, followed (when a draft card comes) by Generate, the render ending
as the case says, its event delivered as EventBridge does (again while the handler fails), and the
sweeper's scheduled run. Then the thread is read:

- **video**: the mp4 is in the thread.
- **explained**: no video, but the person was told why: a note only they see, a failed or cancelled
  render in the thread, a refusal, or Slack's own error for a request the app couldn't answer.
- **lost**: neither, or a render left active that nothing will ever end (it would hold the quota).
- **duplicates**: a second thread, processing job, quota charge or video for one request.

A Lambda that dies is re-invoked as AWS does it: the Function URL answers Slack 502 (the person
presses again), EventBridge delivers the job event again, and a lazy listener's invocation, which
Lambda doesn't retry, goes to the Slack function's dead-letter queue, where
`bot.runtime.lambda_handlers.explain_unfinished_requests` tells the person. Back-off waits run 50 times
faster in the suite; the retries themselves are the real ones."""
REPLAYS = """\
## Replayed requests

Bolt accepts any request signed with the app's secret within the last five minutes, so the same signed
bytes sent again inside that window would be answered again. Every request's signature is therefore
claimed once in the session store (a conditional write, kept until the five minutes are over;
`bot/slack/listeners/replays.py`) before any listener runs, and a signature seen before gets 401: a replayed
command, click or event changes nothing. Slack's own retries of an event are new requests with a new
signature; two within one second would share it, so for events the retry number
(`X-Slack-Retry-Num`, 1-3: Slack never retries more) is part of the claim, and such a retry is answered
and handled idempotently (the message's ts is already a turn, the session already exists, a lazy
listener runs once per Slack request on Lambda). Bolt's lazy-listener markers are headers anyone
could add: both front doors (the Function URL handler and the local HTTP server) strip them. The
cost is one conditional write on the ack path."""


@dataclass
class FaultCase:
    section: str  # "Slack Web API", "DynamoDB", ...
    fault: str  # "HTTP 503 once", ...
    step: str  # where in the flow
    requests: int = 1
    videos: int = 0
    explained: int = 0
    lost: int = 0
    duplicates: int = 0


@dataclass
class InputCase:
    section: str  # "Fuzzing", "Hostile files", "Language-model text", "Access"
    target: str
    tried: int = 0
    answered: int = 0  # accepted, or refused with a clear message / 401 as the case wants
    failures: int = 0  # a crash, a 500, a silent refusal, a refusal without a clear message
    changed: int = 0  # for refusals: how many changed anything (must be 0)
    note: str = ""


@dataclass
class LoadRun:
    requests: int
    senders: int
    acked: int
    within_limit: int
    lost: int
    duplicates: int
    p50_s: float
    p99_s: float
    max_s: float
    limit_s: float


@dataclass
class Ledger:
    faults: list[FaultCase] = field(default_factory=list)
    inputs: list[InputCase] = field(default_factory=list)
    load: LoadRun | None = None
    notes: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fault(self, case: FaultCase) -> FaultCase:
        with self._lock:
            self.faults.append(case)
        return case

    def input(self, case: InputCase) -> InputCase:
        with self._lock:
            self.inputs.append(case)
        return case

    def note(self, key: str, text: str) -> None:
        self.notes[key] = text

    # ------------------------------------------------------------------------------------------- the page

    def totals(self) -> dict[str, int]:
        return {
            "fault cases": len(self.faults),
            "requests": sum(c.requests for c in self.faults),
            "videos": sum(c.videos for c in self.faults),
            "explained": sum(c.explained for c in self.faults),
            "lost": sum(c.lost for c in self.faults),
            "duplicates": sum(c.duplicates for c in self.faults),
            "inputs tried": sum(c.tried for c in self.inputs),
            "input failures": sum(c.failures for c in self.inputs),
        }

    def markdown(self, *, cpus: int, published: tuple[int, int] | None = None) -> str:
        totals = self.totals()
        lines = [
            PAGE_TITLE,
            "",
            "_Generated by `make test` (the suite in `tests/reliability/`); don't edit by hand._",
            "",
            "Every case below ran offline, against the real app and handlers: the Slack stand-in over HTTP "
            "(`localslack`), moto's server on 127.0.0.1 for DynamoDB, S3, SQS and SageMaker, a local "
            "Converse server for Bedrock. Faults are injected at the HTTP layer (the stand-in's `inject`, "
            "botocore's `before-send` hooks answering with the service's own error), one at a time, at "
            "each step of the flow `/video` → draft → Generate → render → video in the thread.",
            "",
            "## Summary",
            "",
            "| | count |",
            "| --- | ---: |",
            f"| fault cases | {totals['fault cases']} |",
            f"| requests sent through them | {totals['requests']} |",
            f"| ended in a video | {totals['videos']} |",
            f"| ended in an explanation | {totals['explained']} |",
            f"| **lost** (neither) | **{totals['lost']}** |",
            f"| **duplicates** (a second render, video, thread or quota charge) | "
            f"**{totals['duplicates']}** |",
            f"| hostile, fuzzed and forged inputs tried | {totals['inputs tried']} |",
            f"| inputs that crashed, answered 500 or went unexplained | **{totals['input failures']}** |",
            "",
        ]
        lines += [*HOW_COUNTED.splitlines(), ""]
        lines += self._fault_tables()
        lines += self._input_tables()
        lines += self._load_section(cpus, published)
        lines += [*REPLAYS.splitlines(), ""]
        for key in sorted(self.notes):
            lines += [f"## {key}", "", self.notes[key], ""]
        return "\n".join(lines).rstrip() + "\n"

    def _fault_tables(self) -> list[str]:
        by_section: dict[str, list[FaultCase]] = defaultdict(list)
        for case in self.faults:
            by_section[case.section].append(case)
        lines = ["## Faults, one at a time", ""]
        for section in sorted(by_section):
            cases = sorted(by_section[section], key=lambda c: (c.step, c.fault))
            lines += [
                f"### {section}",
                "",
                "| step | fault | requests | video | explained | lost | duplicates |",
                "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
            ]
            lines += [
                f"| {c.step} | {c.fault} | {c.requests} | {c.videos} | {c.explained} | {c.lost} | "
                f"{c.duplicates} |"
                for c in cases
            ]
            lines.append("")
        return lines

    def _input_tables(self) -> list[str]:
        by_section: dict[str, list[InputCase]] = defaultdict(list)
        for case in self.inputs:
            by_section[case.section].append(case)
        lines: list[str] = []
        for section in sorted(by_section):
            cases = sorted(by_section[section], key=lambda c: c.target)
            lines += [
                f"## {section}",
                "",
                "| input | tried | answered as promised | failures | changed anything | how |",
                "| --- | ---: | ---: | ---: | ---: | --- |",
            ]
            lines += [
                f"| {c.target} | {c.tried} | {c.answered} | {c.failures} | {c.changed} | {c.note} |"
                for c in cases
            ]
            lines.append("")
        return lines

    def _load_section(self, cpus: int, published: tuple[int, int] | None) -> list[str]:
        run = self.load
        if run is None:
            return []
        p50 = steady_ms(run.p50_s, published[0] if published else None)
        p99 = steady_ms(run.p99_s, published[1] if published else None)
        return [
            "## Load",
            "",
            f"{run.requests} `/video` requests from {run.senders} concurrent senders to the local HTTP app "
            f"(Bolt's WSGI adapter, one thread per request, SQLite store) on loopback, {cpus} CPU cores. "
            "Slack's contract is an ack within 3 seconds.",
            "",
            "| requests | acknowledged | within 3 s | lost | duplicated | p50 ack | p99 ack |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| {run.requests} | {run.acked} | {run.within_limit} | {run.lost} | {run.duplicates} | "
            f"about {p50} ms | about {p99} ms |",
            "",
            "The ack times are figures, not assertions (the test asserts Slack's 3-second limit). The page "
            "keeps them until a run measures more than three times or less than a third as much; each "
            "run's own figures are printed at the end of `make test`.",
            "",
        ]


def steady_ms(seconds: float, published: int | None) -> int:
    """A timing for the page: the figure already published while the new measurement is within a
    factor of three of it (so the page changes when the app gets markedly faster or slower, not with
    each run's jitter: a p99 of 200 requests on a busy 2-core box easily doubles), else the measurement
    to two significant digits."""
    ms = seconds * 1000
    if published and published / STEADY_FACTOR <= ms <= published * STEADY_FACTOR:
        return published
    if ms < 10:
        return max(1, round(ms))
    magnitude = 10 ** (len(str(int(ms))) - 2)
    return int(round(ms / magnitude) * magnitude)


def published_load(page: str) -> tuple[int, int] | None:
    """(p50, p99) in ms from the page as last written."""
    found = re.search(r"\| about (\d+) ms \| about (\d+) ms \|", page)
    return (int(found[1]), int(found[2])) if found else None


LEDGER = Ledger()
