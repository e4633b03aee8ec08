"""`make demo`: the whole product, offline, through the real app.

A local Slack stand-in plays Slack and a person called Alice, in three sessions:
  1. words: `/video … --draft`, a refinement reply, Generate (a quick draft render), then
     🎬 Final render on the result (the same prompt and seed at full quality);
  2. a picture: Alice drops a picture in the channel, mentioning the bot, with a few words; the bot
     writes a motion prompt in the picture's thread, Alice shortens the clip in ⚙️ Settings, and
     Generate animates it;
  3. a storyboard: `/video story … --shots 3`, the shot list on one card, Generate: the three shots
     render with a line each on one progress message, and the cut (crossfades) lands in the thread;
     then ⏩ Extend under the cut continues it from its last frame (the last shot's prompt), and the
     extended clip lands beside it with its parts listed.
The real Bolt app answers over HTTP with the embedded defaults (SQLite, a folder, the offline refiner,
the local job runner), and the real `processing_job` renders with tiny random-weight CogVideoX models
built on this machine, so the videos are noise in motion: the flow, formats and timings are real, the
weights are not. Prints the threads as transcripts and the mp4s' paths.
"""

from __future__ import annotations

import re
import secrets
import shutil
import struct
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.runtime.compose import build_local_services
from bot.runtime.settings import Settings
from bot.slack.app import build_app
from bot.slack.blocks import EXTEND_VIDEO, FINAL_RENDER, GENERATE, OPEN_SETTINGS, SECONDS_INPUT
from bot.slack.story_blocks import STORY_GENERATE
from localslack import Message, SlackStandIn, UploadedFile, format_transcript
from localslack.local_server import LocalAppServer
from processing_job.models import TINY_MODEL, resolve_model

ALICE = "UALICE"
CHANNEL = "CDEMO"
RENDER_TIMEOUT_S = 600
SHORT_CLIP = "--frames 9"  # the shortest clip keeps each tiny render to seconds
PICTURE_WORDS = "the waves roll in and the clouds drift by"
STORY = "a red fox hunting in the snow at dawn --shots 3"
_PERCENT = re.compile(r" \d+%")


@dataclass(frozen=True)
class DemoResult:
    videos: list[Path]
    transcripts: list[str]
    seconds: float


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
        step(f"Model: {info.name} — built on this machine on first use, so the videos are random noise.")
    slack = SlackStandIn(
        signing_secret=signing_secret,
        files_dir=home / "slack-files",
        users={ALICE: "alice"},
        channels={CHANNEL: "videos"},
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
                demo = _Demo(slack, step)
                text_thread = demo.text_session(idea, refinement)
                picture_thread = demo.picture_session(home / "harbour.png")
                story_thread = demo.story_session(STORY)
        finally:
            services.close()
        threads = [text_thread, picture_thread, story_thread]
        # Each long prompt in full once, then its first words (what the bot posts is unchanged).
        transcripts = [
            format_transcript(slack.thread(CHANNEL, ts), slack.users, shorten_repeats=True) for ts in threads
        ]
        per_thread = [[f.path for f in slack.files if f.thread_ts == ts and f.path] for ts in threads]
        videos = [path for paths in per_thread for path in paths]
    elapsed = time.monotonic() - started
    titles = ("a sentence", "a picture", "a storyboard")
    for title, transcript in zip(titles, transcripts, strict=True):
        print(f"\n— From {title}: the thread, as Alice sees it —\n", file=out)
        print(transcript, file=out)
    print("\nVideos:", file=out)
    for title, paths in zip(titles, per_thread, strict=True):
        print(f"  from {title}:", *paths, file=out)
    print(f"Demo finished in {elapsed:.1f} s.", file=out)
    return DemoResult(videos=videos, transcripts=transcripts, seconds=elapsed)


def _with_button(action_id: str) -> Callable[[Message], bool]:
    return lambda message: action_id in message.action_ids()


class _Demo:
    def __init__(self, slack: SlackStandIn, step: Callable[[str], None]) -> None:
        self.slack, self.step = slack, step

    def text_session(self, idea: str, refinement: str) -> str:
        slack, step = self.slack, self.step
        command = f"{idea} {SHORT_CLIP} --draft"
        step(f"@alice: /video {command}")
        answer = slack.slash_command("/video", command, user=ALICE, channel=CHANNEL)
        if answer.status != 200:
            raise RuntimeError(f"The app answered /video with HTTP {answer.status}: {answer.body!r}")
        root = slack.wait_until(
            lambda: next(iter(slack.messages(CHANNEL)), None), timeout=30, what="the root message"
        )
        first = self._card(root.ts, "Draft 1")
        step("videobot streamed the refined prompt into the thread: draft 1")

        step(f"@alice (in the thread): {refinement}")
        slack.say(CHANNEL, refinement, user=ALICE, thread_ts=root.ts)
        card = self._card(root.ts, "Draft 2", other_than=first.ts)
        step("videobot rewrote the prompt: draft 2 replaces draft 1")

        step("@alice clicks ▶️ Generate (a draft-quality preview)")
        slack.click(card, GENERATE, user=ALICE)
        self._video(root.ts, 1)
        result = slack.wait_until(
            lambda: next(filter(_with_button(FINAL_RENDER), slack.thread(CHANNEL, root.ts)), None),
            timeout=30,
            what="the result's buttons",
        )
        step("@alice clicks 🎬 Final render (same prompt and seed, full quality)")
        slack.click(result, FINAL_RENDER, user=ALICE)
        self._video(root.ts, 2)
        return root.ts

    def picture_session(self, picture: Path) -> str:
        slack, step = self.slack, self.step
        picture.write_bytes(demo_picture())
        step(f"@alice drops {picture.name} into #videos, mentioning the bot: “@videobot {PICTURE_WORDS}”")
        mention = (
            f"<@{slack.workspace.bot_user_id}>"  # in a channel, a picture is for the bot when it's named
        )
        shared = slack.share_file(CHANNEL, picture, user=ALICE, text=f"{mention} {PICTURE_WORDS}")
        card = self._card(shared.ts, "Draft 1")
        step("videobot wrote a motion prompt in the picture's thread: an image-to-video draft")

        step("@alice opens ⚙️ Settings and makes it a one-second clip")
        slack.click(card, OPEN_SETTINGS, user=ALICE)
        view = slack.wait_until(
            lambda: next((v for v in slack.views if v.open and v.user == ALICE), None),
            timeout=10,
            what="the settings modal",
        )
        slack.submit_view(view.id, {SECONDS_INPUT[0]: {SECONDS_INPUT[1]: "1"}}, user=ALICE)
        card = self._card(shared.ts, "Draft 2")
        step("videobot wrote the new settings back to the card: draft 2")

        step("@alice clicks ▶️ Generate")
        slack.click(card, GENERATE, user=ALICE)
        self._video(shared.ts, 1)
        return shared.ts

    def story_session(self, story: str) -> str:
        slack, step = self.slack, self.step
        command = f"story {story} {SHORT_CLIP}"
        step(f"@alice: /video {command}")
        before = {m.ts for m in slack.messages(CHANNEL)}
        slack.slash_command("/video", command, user=ALICE, channel=CHANNEL)
        root = slack.wait_until(
            lambda: next((m for m in slack.messages(CHANNEL) if m.ts not in before and m.bot_id), None),
            timeout=30,
            what="the storyboard's root message",
        )
        card = slack.wait_until(
            lambda: next(filter(_with_button(STORY_GENERATE), slack.thread(CHANNEL, root.ts)), None),
            timeout=60,
            what="the storyboard card",
        )
        step("videobot wrote a shot list of 3 shots onto one storyboard card")
        step("@alice clicks ▶️ Generate")
        slack.click(card, STORY_GENERATE, user=ALICE)
        seen: set[str] = set()

        def cut_or_progress() -> UploadedFile | None:
            for message in slack.thread(CHANNEL, root.ts):
                if message.text.startswith("🎬 Storyboard:") and message.blocks:
                    # A line when a shot changes state, not at every percent of its render.
                    lines = _PERCENT.sub("", message.blocks[1].get("text", {}).get("text", ""))
                    if lines not in seen:
                        seen.add(lines)
                        step("progress: " + " | ".join(lines.splitlines()))
            return next((f for f in slack.files if f.thread_ts == root.ts), None)

        cut = slack.wait_until(cut_or_progress, timeout=RENDER_TIMEOUT_S, what="the storyboard's cut")
        step(
            f"videobot posted the cut {cut.name} ({cut.size / 1e6:.2f} MB) with the shot list under it:"
            f" {cut.path}"
        )
        shot_list = slack.wait_until(
            lambda: next(filter(_with_button(EXTEND_VIDEO), slack.thread(CHANNEL, root.ts)), None),
            timeout=30,
            what="⏩ Extend under the cut's shot list",
        )
        step("@alice clicks ⏩ Extend under the cut: on from its last frame, with the last shot's prompt")
        slack.click(shot_list, EXTEND_VIDEO, user=ALICE)
        self._video(root.ts, 2)
        return root.ts

    def _card(self, thread_ts: str, label: str, other_than: str | None = None) -> Message:
        def find() -> Message | None:
            for message in self.slack.thread(CHANNEL, thread_ts):
                shown = message.text + str(message.blocks)
                if GENERATE in message.action_ids() and label in shown and message.ts != other_than:
                    return message
            return None

        return self.slack.wait_until(find, timeout=60, what=f"the card of {label.lower()}")

    def _video(self, thread_ts: str, count: int) -> UploadedFile:
        videos = self.slack.wait_until(
            lambda: [f for f in self.slack.files if f.thread_ts == thread_ts][count - 1 :],
            timeout=RENDER_TIMEOUT_S,
            what=f"video {count} in the thread",
        )
        video = videos[0]
        self.step(f"videobot posted {video.name} ({video.size / 1e6:.2f} MB) in the thread: {video.path}")
        return video


def demo_picture(width: int = 192, height: int = 128) -> bytes:
    """A small PNG drawn here (sky, sun, sea), so the demo needs no file and no imaging library."""
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")  # PNG filter: none
        for x in range(width):
            if y < height * 0.55:
                sun = (x - width * 0.7) ** 2 + (y - height * 0.3) ** 2 < (height * 0.12) ** 2
                pixel = (255, 214, 120) if sun else (250 - y, 150 + y // 2, 120 + y)
            else:
                wave = 20 if (x // 12 + y // 6) % 2 else 0
                pixel = (20, 70 + wave, 130 + wave)
            row += bytes(max(0, min(255, c)) for c in pixel)
        rows.append(bytes(row))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )
