"""While the prompt is written, the thread says so (`assistant.threads.setStatus`, which `chat:write`
allows); the status is cleared once the draft is posted, and a status Slack refuses never stops a draft."""

from __future__ import annotations

from bot.slack.streaming import WRITING_STATUS
from tests.conftest import CHANNEL, seen


def adopted(slack, services, root):
    """The draft card is the session's: the whole draft went through."""
    return slack.wait_until(
        lambda: services.store.get_session(CHANNEL, root.ts).draft_card_ts, what="the card adopted"
    )


def statuses_of(slack, root):
    return [s.status for s in slack.statuses if s.channel == CHANNEL and s.thread_ts == root.ts]


def test_the_thread_says_the_prompt_is_being_written_until_the_draft_is_posted(slack, videobot, alice):
    root = alice.video("a fox")
    card = alice.draft_card(root)
    slack.wait_until(lambda: statuses_of(slack, root) == [WRITING_STATUS, ""], what="the status cleared")
    cleared = next(s for s in slack.statuses if s.thread_ts == root.ts and s.status == "")
    assert "Draft 1" in seen(slack.message(CHANNEL, card.ts)) and cleared.at >= 0


def test_a_refused_status_never_stops_the_draft(slack, videobot, alice):
    slack.inject("assistant.threads.setStatus", error="missing_scope", times=10)
    root = alice.video("a fox")
    assert "Draft 1" in seen(alice.draft_card(root))
    assert adopted(slack, videobot, root) == alice.draft_card(root).ts


def test_a_status_call_that_breaks_never_stops_the_draft(slack, videobot, alice):
    slack.inject("assistant.threads.setStatus", status=500, times=10)
    root = alice.video("a fox")
    assert "Draft 1" in seen(alice.draft_card(root))
    assert adopted(slack, videobot, root) == alice.draft_card(root).ts
