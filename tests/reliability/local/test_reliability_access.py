"""No one let in: unsigned, forged, stale and replayed requests get 401 and change nothing; only a
session's owner (or an admin) controls it; people and channels outside the allow-lists are refused
politely. Against the local HTTP app, which answers exactly as the Lambda front door does."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from bot.slack.blocks import CANCEL_DRAFT, CANCEL_JOB, GENERATE, OPEN_SETTINGS
from tests.conftest import ALICE, BOB, CHANNEL, SECRET, limits, message_with, roots
from tests.reliability.ledger import InputCase

FORM = "application/x-www-form-urlencoded"


def command_body(text: str = "a fox", user: str = ALICE) -> bytes:
    return urlencode(
        {
            "command": "/video",
            "text": text,
            "user_id": user,
            "channel_id": CHANNEL,
            "team_id": "TLOCAL",
            "trigger_id": f"{time.time()}.1.abc",
            "response_url": "http://127.0.0.1:9/response",
        }
    ).encode()


def state(slack, services):
    """What a request could change: messages, Web API calls, sessions and jobs."""
    return (
        len(slack.messages(include_ephemeral=True)),
        len(slack.api_calls),
        len(services.store.active_jobs()),
        len(roots(slack)),
    )


def settle_and_compare(slack, services, before) -> int:
    time.sleep(0.3)  # a wrongly accepted request's lazy work would show up by now
    return int(state(slack, services) != before)


def forged(slack):
    body = command_body()
    stamp = str(int(time.time()))
    good = SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body)
    stale = str(int(time.time()) - 6 * 60)
    return {
        "no signature": lambda: slack.signed_post(body, FORM, headers={"X-Slack-Signature": ""}),
        "a made-up signature": lambda: slack.signed_post(body, FORM, signature="v0=" + "0" * 64),
        "signed with another secret": lambda: slack.signed_post(
            body,
            FORM,
            timestamp=stamp,
            signature=SignatureVerifier("guess").generate_signature(timestamp=stamp, body=body),
        ),
        "signed more than 5 minutes ago": lambda: slack.signed_post(body, FORM, timestamp=stale),
        "the body changed after signing": lambda: slack.signed_post(
            command_body("a wolf"), FORM, timestamp=stamp, signature=good
        ),
    }


def test_unsigned_forged_and_stale_requests_get_401_and_change_nothing(slack, videobot, ledger):
    attempts = forged(slack)
    refused = changed = 0
    for attempt in attempts.values():
        before = state(slack, videobot)
        refused += attempt().status == 401
        changed += settle_and_compare(slack, videobot, before)
    ledger.input(
        InputCase(
            "Access",
            "unsigned, forged, re-signed with a guess, stale, or altered requests",
            tried=len(attempts),
            answered=refused,
            failures=len(attempts) - refused,
            changed=changed,
            note="401 from Bolt's signature check",
        )
    )
    assert refused == len(attempts)
    assert changed == 0


REPLAYS = {
    "as it was": {},
    "marked as Bolt's own lazy run": {"X-Slack-Bolt-Lazy-Only": "1", "X-Slack-Bolt-Lazy-Function-Name": "x"},
    "marked as a Slack retry": {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
}


@pytest.mark.parametrize("how", list(REPLAYS))
def test_a_replayed_command_gets_401_and_changes_nothing(slack, videobot, alice, ledger, how):
    alice.draft_card(alice.video("a fox"))
    original = next(d for d in slack.deliveries if d.kind == "slash_command")
    time.sleep(0.3)
    before = state(slack, videobot)
    replay = slack.replay(original, headers=REPLAYS[how])
    changed = settle_and_compare(slack, videobot, before)
    ledger.input(
        InputCase(
            "Access",
            f"a signed /video sent again within 5 minutes, {how}",
            tried=1,
            answered=int(replay.status == 401),
            failures=int(replay.status != 401),
            changed=changed,
            note="401: each signature is answered once (replays.py)",
        )
    )
    assert replay.status == 401
    assert changed == 0


def test_a_replayed_click_gets_401_and_changes_nothing(slack, videobot, alice, ledger):
    card = alice.draft_card(alice.video("a fox --frames 9"))
    alice.click(card, CANCEL_DRAFT)
    slack.wait_until(lambda: "Cancelled by" in slack.message(CHANNEL, card.ts).text, what="the card closed")
    click = next(d for d in slack.deliveries if d.kind == "block_actions")
    before = state(slack, videobot)
    replay = slack.replay(click)
    changed = settle_and_compare(slack, videobot, before)
    ledger.input(
        InputCase(
            "Access",
            "a signed button click sent again within 5 minutes",
            tried=1,
            answered=int(replay.status == 401),
            failures=int(replay.status != 401),
            changed=changed,
            note="401",
        )
    )
    assert replay.status == 401
    assert changed == 0


def test_slacks_own_retries_of_an_event_are_answered_once(slack, videobot, alice, ledger):
    root = alice.video("a fox")
    alice.draft_card(root)
    alice.reply(root, "make it night")
    alice.draft_card(root, revision=2)
    reply = [d for d in slack.deliveries if d.kind == "event_callback"][-1]
    time.sleep(0.3)
    before = state(slack, videobot)
    # Slack signs each retry afresh; within one second the signature repeats, the retry number doesn't.
    retries = [slack.replay(reply, headers={"X-Slack-Retry-Num": str(n)}) for n in (1, 2, 3)]
    beyond = slack.replay(reply, headers={"X-Slack-Retry-Num": "4"})  # Slack stops at three
    changed = settle_and_compare(slack, videobot, before)
    ledger.input(
        InputCase(
            "Access",
            "an event's retries (X-Slack-Retry-Num 1-3), then a fourth",
            tried=4,
            answered=sum(r.status == 200 for r in retries) + int(beyond.status == 401),
            failures=sum(r.status != 200 for r in retries) + int(beyond.status != 401),
            changed=changed,
            note="200 and nothing new (the reply's ts is already a turn); the fourth: 401",
        )
    )
    assert [r.status for r in retries] == [200, 200, 200]
    assert beyond.status == 401
    assert changed == 0


# ----------------------------------------------------------------------------------- who controls what


def test_only_the_owner_controls_a_session(slack, start_app, alice, bob, ledger):
    services = start_app()
    root = alice.video("a fox --frames 9")
    card = alice.draft_card(root)
    tries = {
        "Generate": (card, GENERATE),
        "Settings": (card, OPEN_SETTINGS),
        "Cancel (the draft)": (card, CANCEL_DRAFT),
    }

    def bob_presses(message, action) -> bool:
        notes = len(bob.ephemerals())
        bob.click(message, action)
        slack.wait_until(lambda: len(bob.ephemerals()) > notes, what="a note to Bob")
        return "Only <@UALICE>, who started this video, can do that." in bob.ephemerals()[-1]

    refused = sum(bob_presses(message, action) for message, action in tries.values())
    alice.click(card, GENERATE)
    progress = message_with(slack, root, CANCEL_JOB)
    refused += bob_presses(progress, CANCEL_JOB)
    jobs = services.store.jobs_for_owner(ALICE)
    changed = int(len(jobs) != 1 or jobs[0].status == "cancelled" or bool(services.store.jobs_for_owner(BOB)))
    ledger.input(
        InputCase(
            "Access",
            "someone else presses Generate, Settings, Cancel, Cancel render",
            tried=len(tries) + 1,
            answered=refused,
            failures=len(tries) + 1 - refused,
            changed=changed,
            note="a private note: only the owner (or an admin) can",
        )
    )
    assert refused == len(tries) + 1
    assert changed == 0
    alice.click(progress, CANCEL_JOB)  # no need to render it to the end


def test_people_and_channels_outside_the_allow_lists_are_refused_politely(
    slack, start_app, alice, bob, ledger
):
    start_app(limits=limits(allowed_channels=frozenset({"CALLOWED"}), allowed_users=frozenset({ALICE})))
    slack.slash_command("/video", "a fox", user=ALICE, channel=CHANNEL)
    slack.slash_command("/video", "a fox", user=BOB, channel="CALLOWED")
    answers = [alice.told("You can ask me in <#CALLOWED>"), bob.told("isn't open to you")]
    time.sleep(0.3)
    ledger.input(
        InputCase(
            "Access",
            "/video in a channel, or from a person, outside the allow-lists",
            tried=2,
            answered=len(answers),
            changed=len(roots(slack)),
            note="a private note saying where (or that an admin can add them); nothing starts",
        )
    )
    assert roots(slack) == []
