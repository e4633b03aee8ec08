"""`make demo`: the whole flow, offline, through the real app.

A local Slack stand-in plays Slack and a person called Alice: `/video …`, a refinement reply, a click
on Generate. The real Bolt app answers over HTTP with the embedded defaults (SQLite, a folder, the
offline refiner, the local job runner), and the real `processing_job` renders with a tiny
random-weight CogVideoX built on this machine, so the video is noise in motion, not a fox: the flow,
formats and timings are real, the weights are not. Prints the thread as a transcript and the mp4's path.
"""

from __future__ import annotations

import secrets
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.app import build_app
from bot.blocks import GENERATE
from bot.config import Settings
from bot.local_server import LocalAppServer
from bot.localslack import Message, SlackStandIn, format_transcript
from bot.services import build_local_services
from processing_job.models import TINY_MODEL, resolve_model

ALICE = "UALICE"
CHANNEL = "CDEMO"
RENDER_TIMEOUT_S = 600


@dataclass(frozen=True)
class DemoResult:
    video: Path
    transcript: str
    seconds: float


def _has_button(action_id: str) -> Callable[[Message], bool]:
    def check(message: Message) -> bool:
        return any(
            element.get("action_id") == action_id
            for block in message.blocks
            if block.get("type") == "actions"
            for element in block.get("elements", [])
        )

    return check


def run_demo(
    *,
    idea: str = "a red fox running through snow",
    refinement: str = "make it night, with a slower camera",
    home: Path = Path("var/demo"),
    model_cache: Path = Path("var/models"),
    model: str = TINY_MODEL,
    out: TextIO = sys.stdout,
) -> DemoResult:
    started = time.monotonic()

    def step(text: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {text}", file=out, flush=True)

    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    signing_secret = secrets.token_hex(16)
    info = resolve_model(model)
    if info.built_locally:
        step(f"Model: {info.name} — built on this machine on first use, so the video is random noise.")
    slack = SlackStandIn(
        signing_secret=signing_secret, files_dir=home / "slack-files", users={ALICE: "alice"}
    )
    with slack:
        settings = Settings(
            slack_bot_token=slack.bot_token,
            slack_signing_secret=signing_secret,
            slack_api_url=slack.api_url,
            home=home,
            model_cache=model_cache,
            default_model=info.key,
        )
        services = build_local_services(settings)
        try:
            with LocalAppServer(build_app(services)) as server:
                slack.connect_app(server.url)
                step(f"Slack stand-in at {slack.api_url}, the app at {server.url}")
                video = _converse(slack, idea, refinement, step)
        finally:
            services.close()
        transcript = format_transcript(slack.thread(CHANNEL, video.thread_ts), slack.users)
    elapsed = time.monotonic() - started
    print("\n— The thread, as Alice sees it —\n", file=out)
    print(transcript, file=out)
    print(f"\nVideo: {video.path}", file=out)
    print(f"Demo finished in {elapsed:.1f} s.", file=out)
    return DemoResult(video=video.path, transcript=transcript, seconds=elapsed)


@dataclass(frozen=True)
class _Delivered:
    path: Path
    thread_ts: str


def _converse(slack: SlackStandIn, idea: str, refinement: str, step: Callable[[str], None]) -> _Delivered:
    step(f"@alice: /video {idea}")
    answer = slack.slash_command("/video", idea, user=ALICE, channel=CHANNEL)
    if answer.status != 200:
        raise RuntimeError(f"The app answered /video with HTTP {answer.status}: {answer.body!r}")
    root = slack.wait_until(
        lambda: next(iter(slack.messages(CHANNEL)), None), timeout=30, what="the root message of the session"
    )
    first_card = slack.wait_until(
        lambda: next(filter(_has_button(GENERATE), slack.thread(CHANNEL, root.ts)), None),
        timeout=30,
        what="the first draft card",
    )
    step("videobot posted the refined prompt and draft 1")

    step(f"@alice (in the thread): {refinement}")
    slack.say(CHANNEL, refinement, user=ALICE, thread_ts=root.ts)
    card = slack.wait_until(
        lambda: next(
            (
                m
                for m in filter(_has_button(GENERATE), slack.thread(CHANNEL, root.ts))
                if m.ts != first_card.ts
            ),
            None,
        ),
        timeout=30,
        what="the second draft card",
    )
    step("videobot posted the refined prompt and draft 2")

    step("@alice clicks ▶️ Generate")
    slack.click(card, GENERATE, user=ALICE)
    uploaded = slack.wait_until(
        lambda: next((f for f in slack.files if f.thread_ts == root.ts), None),
        timeout=RENDER_TIMEOUT_S,
        what="the rendered video in the thread",
    )
    step(f"videobot uploaded {uploaded.name} ({uploaded.size / 1e6:.2f} MB) into the thread")
    slack.wait_until(
        lambda: any("Done in" in m.text for m in slack.thread(CHANNEL, root.ts)),
        timeout=30,
        what="the progress message marked done",
    )
    return _Delivered(path=uploaded.path, thread_ts=root.ts)
