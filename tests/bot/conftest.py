"""The real app, served over HTTP on 127.0.0.1, with the embedded local defaults, talking to the local
Slack stand-in; renders run the real processing_job in a child process with the tiny model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.app import build_app
from bot.blocks import GENERATE
from bot.config import Settings
from bot.local_server import LocalAppServer
from bot.localslack import Message, SlackStandIn
from bot.services import Services, build_local_services

SECRET = "test-signing-secret"
ALICE, BOB = "UALICE", "UBOB"
CHANNEL = "CVIDEOS"


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by every render in the session: the first job builds the tiny model here."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def slack(tmp_path: Path) -> Iterator[SlackStandIn]:
    with SlackStandIn(
        signing_secret=SECRET,
        files_dir=tmp_path / "slack-files",
        users={ALICE: "alice", BOB: "bob"},
        channels={CHANNEL: "videos"},
    ) as stand_in:
        yield stand_in


@pytest.fixture
def videobot(slack: SlackStandIn, tmp_path: Path, model_cache: Path) -> Iterator[Services]:
    settings = Settings(
        slack_bot_token=slack.bot_token,
        slack_signing_secret=SECRET,
        slack_api_url=slack.api_url,
        home=tmp_path / "home",
        model_cache=model_cache,
    )
    services = build_local_services(settings)
    with LocalAppServer(build_app(services)) as server:
        slack.connect_app(server.url)
        yield services
    services.close()


def has_button(action_id: str) -> Callable[[Message], bool]:
    return lambda message: action_id in message.action_ids()


def roots(slack: SlackStandIn) -> list[Message]:
    """The channel's top-level messages (thread replies left out)."""
    return [m for m in slack.messages(CHANNEL) if m.thread_ts in (None, m.ts)]


class Person:
    """A person in the stand-in's workspace, doing what people do, and waiting for what they'd see."""

    def __init__(self, slack: SlackStandIn, user: str) -> None:
        self.slack, self.user = slack, user

    def video(self, text: str) -> Message:
        """`/video text`; returns the root message of the session's thread."""
        answer = self.slack.slash_command("/video", text, user=self.user, channel=CHANNEL)
        assert answer.status == 200
        return self.slack.wait_until(lambda: roots(self.slack)[-1], what="the session's root message")

    def draft_card(self, root: Message, revision: int = 1) -> Message:
        return self.slack.wait_until(
            lambda: next(
                (
                    m
                    for m in self.slack.thread(CHANNEL, root.ts)
                    if GENERATE in m.action_ids() and f"Draft {revision}" in m.text
                ),
                None,
            ),
            what=f"draft card {revision}",
        )

    def reply(self, root: Message, text: str) -> None:
        self.slack.say(CHANNEL, text, user=self.user, thread_ts=root.ts)

    def click(self, message: Message, action_id: str) -> None:
        assert self.slack.click(message, action_id, user=self.user).status == 200

    def ephemerals(self) -> list[str]:
        return [m.text for m in self.slack.ephemerals(self.user)]


@pytest.fixture
def alice(slack: SlackStandIn) -> Person:
    return Person(slack, ALICE)


@pytest.fixture
def bob(slack: SlackStandIn) -> Person:
    return Person(slack, BOB)
