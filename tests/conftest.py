"""The real app, served over HTTP on 127.0.0.1, with the embedded local defaults, talking to the local
Slack stand-in; renders run the real processing_job in a child process with the tiny models."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.conversation.limits import Limits
from bot.runtime.compose import build_local_services
from bot.runtime.services import Services
from bot.runtime.settings import Settings
from bot.slack.app import build_app
from bot.slack.blocks import GENERATE
from localslack import Message, SlackStandIn, render_blocks
from localslack.local_server import LocalAppServer

SECRET = "test-signing-secret"
ALICE, BOB, ADMIN = "UALICE", "UBOB", "UADMIN"
CHANNEL = "CVIDEOS"
FAST = "--frames 9"  # the tiny model's shortest clip keeps each render to a few seconds


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by every render in the session: the first job builds the tiny models here."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def slack(tmp_path: Path) -> Iterator[SlackStandIn]:
    with SlackStandIn(
        signing_secret=SECRET,
        files_dir=tmp_path / "slack-files",
        users={ALICE: "alice", BOB: "bob", ADMIN: "admin"},
        channels={CHANNEL: "videos"},
    ) as stand_in:
        yield stand_in


StartApp = Callable[..., Services]


@pytest.fixture
def start_app(slack: SlackStandIn, tmp_path: Path, model_cache: Path) -> Iterator[StartApp]:
    """Starts the app with some settings changed (limits, admins, a refiner, ...)."""
    running: list[tuple[Services, LocalAppServer]] = []

    def start(*, with_refiner: Any = None, **changes: Any) -> Services:
        settings = Settings(
            slack_bot_token=slack.bot_token,
            slack_signing_secret=SECRET,
            slack_api_url=slack.api_url,
            home=tmp_path / "home",
            model_cache=model_cache,
            # The tests' workspace takes every picture shared in its channels (as if each had chosen
            # `/video channel pictures all`); tests/slack/test_channel_pictures.py starts from the
            # product's default, `mention`.
            channel_pictures="all",
        )
        services = build_local_services(replace(settings, **changes), refiner=with_refiner)
        server = LocalAppServer(build_app(services)).start()
        slack.connect_app(server.url)
        running.append((services, server))
        return services

    yield start
    for services, server in running:
        server.stop()
        services.close()


@pytest.fixture
def videobot(start_app: StartApp) -> Services:
    return start_app()


def limits(**changes: Any) -> Limits:
    return replace(Limits(), **changes)


def has_button(action_id: str) -> Callable[[Message], bool]:
    return lambda message: action_id in message.action_ids()


def seen(message: Message) -> str:
    """A message as people see it: its blocks when it has them, else its text."""
    shown = "\n".join(render_blocks(message.blocks, {})) if message.blocks else ""
    return f"{message.text}\n{shown}"


def roots(slack: SlackStandIn) -> list[Message]:
    """The channel's top-level messages (thread replies left out)."""
    return [m for m in slack.messages(CHANNEL) if m.thread_ts in (None, m.ts)]


def file_event(file: dict[str, Any], ts: str = "1700000000.000100") -> dict[str, Any]:
    """The `message` event (subtype `file_share`) of Alice sharing `file` in the channel, as Slack
    sends it."""
    return {
        "type": "message",
        "subtype": "file_share",
        "channel": CHANNEL,
        "channel_type": "channel",
        "user": ALICE,
        "text": "",
        "ts": ts,
        "event_ts": ts,
        "files": [file],
    }


class Person:
    """A person in the stand-in's workspace, doing what people do, and waiting for what they'd see."""

    def __init__(self, slack: SlackStandIn, user: str) -> None:
        self.slack, self.user = slack, user

    def video(self, text: str, channel: str = CHANNEL) -> Message:
        """`/video text`; returns the root message of the new session's thread."""

        def roots_now() -> list[Message]:
            return [m for m in self.slack.messages(channel) if m.thread_ts in (None, m.ts) and m.bot_id]

        before = len(roots_now())
        answer = self.slack.slash_command("/video", text, user=self.user, channel=channel)
        assert answer.status == 200
        return self.slack.wait_until(lambda: roots_now()[before], what="the session's root message")

    def draft_card(self, root: Message | str, revision: int = 1, channel: str = CHANNEL) -> Message:
        """Draft card `revision` in the thread of `root` (a message, or a thread's ts)."""
        thread_ts = root if isinstance(root, str) else root.ts
        return self.slack.wait_until(
            lambda: next(
                (
                    m
                    for m in self.slack.thread(channel, thread_ts)
                    if GENERATE in m.action_ids() and f"Draft {revision}*" in json.dumps(m.blocks)
                ),
                None,
            ),
            what=f"draft card {revision}",
        )

    def reply(self, root: Message, text: str) -> Message:
        return self.slack.say(CHANNEL, text, user=self.user, thread_ts=root.ts)

    def click(self, message: Message, action_id: str) -> None:
        assert self.slack.click(message, action_id, user=self.user).status == 200

    def ephemerals(self) -> list[str]:
        return [m.text for m in self.slack.ephemerals(self.user)]

    def told(self, words: str, timeout: float = 30) -> str:
        """Waits for a private note containing `words`; returns it."""
        return self.slack.wait_until(
            lambda: next((t for t in self.ephemerals() if words in t), None),
            timeout=timeout,
            what=f"a note to {self.user} saying {words!r}",
        )


@pytest.fixture
def alice(slack: SlackStandIn) -> Person:
    return Person(slack, ALICE)


@pytest.fixture
def bob(slack: SlackStandIn) -> Person:
    return Person(slack, BOB)


def press_together(slack: SlackStandIn, cards: list[Message], user: str) -> list[int]:
    """Generate on each card, everyone's finger coming down at once: one thread per click, released
    together; returns the answers' statuses."""
    start = threading.Barrier(len(cards))
    answers = []

    def press(card: Message) -> None:
        start.wait()
        answers.append(slack.click(card, GENERATE, user=user).status)

    threads = [threading.Thread(target=press, args=(card,)) for card in cards]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def settle() -> None:
    """Time for a request the app should ignore to show up if it wrongly didn't (lazy listeners run in
    threads, so there is nothing to wait *for*)."""
    time.sleep(0.3)


def thread_text(slack: SlackStandIn, root: Message, channel: str = CHANNEL) -> str:
    return slack.thread_transcript(channel, root.ts)


def video_in_thread(slack: SlackStandIn, root: Message | str, count: int = 1, timeout: float = 120):
    """The `count`-th video posted in the thread of `root` (a message, or a thread's ts)."""
    thread_ts = root if isinstance(root, str) else root.ts
    return slack.wait_until(
        lambda: [f for f in slack.files if f.thread_ts == thread_ts and f.name == "video.mp4"][count - 1],
        timeout=timeout,
        what=f"video {count} in the thread",
    )


def message_with(slack: SlackStandIn, root: Message, action_id: str, channel: str = CHANNEL) -> Message:
    """The newest message in the thread with that button, once there is one."""
    return slack.wait_until(
        lambda: [m for m in slack.thread(channel, root.ts) if action_id in m.action_ids()][-1],
        what=f"a message with {action_id}",
    )
