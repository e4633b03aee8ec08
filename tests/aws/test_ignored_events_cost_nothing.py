"""An event the bot will ignore costs no AWS call: channel chatter sent signed to the deployed Lambda
handler is acked and dropped at its front door, before DynamoDB, S3, SQS, Secrets Manager or a
Lambda self-invocation is touched. Counted with botocore's `before-send` hook on every client made."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from PIL import Image

from tests.aws.conftest import Deployment, open_thread
from tests.conftest import ALICE, BOB, CHANNEL


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every request any botocore client sends from now on (its event name, e.g.
    `before-send.dynamodb.PutItem`). Requested before `deployed`, so it sees every client."""
    calls: list[str] = []
    create_client = botocore.session.Session.create_client

    def counting_client(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, *args, **kwargs)
        client.meta.events.register("before-send", lambda event_name, **_: calls.append(event_name))
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", counting_client)
    yield calls


@pytest.fixture
def warm(aws_calls: list[str], deployed: Deployment, alice) -> Deployment:
    """A warm container: a session has been drafted (so the Slack secret, the clients and Bolt are
    ready), then the count starts afresh."""
    root = open_thread(alice, "a lighthouse in a storm")
    alice.draft_card(root)
    deployed.lam.wait_idle()
    assert aws_calls, "the warm-up made no AWS call: the counter isn't counting"
    aws_calls.clear()
    deployed.lam.invocations.clear()
    deployed.thread = root  # type: ignore[attr-defined]
    return deployed


def test_channel_chatter_costs_no_aws_call(warm: Deployment, slack, aws_calls: list[str]):
    before = len(slack.deliveries)
    talk = slack.say(CHANNEL, "anyone for lunch?", user=ALICE)
    slack.say(CHANNEL, "sure, 12:30", user=BOB, thread_ts=talk.ts)  # a reply in someone else's thread
    slack.say(CHANNEL, "the deploy is done", user=BOB)
    slack.edit(talk, "anyone for lunch at noon?")
    slack.delete(talk)
    slack.react(warm.thread, "eyes", user=BOB)  # type: ignore[attr-defined]
    answers = slack.deliveries[before:]
    assert len(answers) == 6 and all(answer.status == 200 for answer in answers)
    warm.lam.wait_idle()
    assert aws_calls == []
    assert warm.lam.invocations == []  # no lazy listener was started either


def test_a_picture_posted_for_the_people_in_a_channel_costs_one_read_a_minute_at_most(
    warm: Deployment, slack, aws_calls: list[str], tmp_path: Path
):
    picture = tmp_path / "holiday.png"
    Image.new("RGB", (64, 48), (10, 200, 90)).save(picture)
    for _ in range(3):
        slack.share_file(CHANNEL, picture, user=BOB)
    warm.lam.wait_idle()
    assert aws_calls == ["before-send.dynamodb.GetItem"]  # the channel's choice, then remembered
    assert warm.lam.invocations == []


def test_a_reply_in_a_session_thread_still_reaches_the_bot(warm: Deployment, slack, alice, aws_calls):
    alice.reply(warm.thread, "make it daytime")  # type: ignore[attr-defined]
    alice.draft_card(warm.thread, revision=2)  # type: ignore[attr-defined]
    assert any(".dynamodb." in call for call in aws_calls)
