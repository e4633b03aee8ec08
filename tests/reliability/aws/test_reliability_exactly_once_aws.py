"""Exactly once, as people see it, on the deployed bot: twenty concurrent Generate clicks launch exactly
what the caps allow (the quota is reserved in one DynamoDB transaction); a replayed request gets 401
while Slack's own retries are answered, once."""

from __future__ import annotations

import json

import bot.runtime.lambda_handlers
from bot.adapters.store.dynamodb import DynamoDbSessionStore
from bot.slack.blocks import GENERATE
from tests.aws.conftest import open_thread, refine_once
from tests.conftest import ALICE, CHANNEL, press_together, roots
from tests.fakes.aws_lambda import LambdaContext
from tests.reliability.ledger import FaultCase, InputCase

CLICKS = 20


def test_twenty_concurrent_generate_clicks_on_twenty_drafts_launch_what_the_caps_allow(
    deployed, alice, slack, resources, ledger
):
    cards = [alice.draft_card(open_thread(alice, f"fox number {n}")) for n in range(CLICKS)]
    notes_before = len(alice.ephemerals())
    assert set(press_together(slack, cards, ALICE)) == {200}
    deployed.lam.wait_idle()
    launched = deployed.aws.sagemaker_jobs()
    refused = [t for t in alice.ephemerals()[notes_before:] if "the most one person can run at once" in t]
    table = DynamoDbSessionStore(resources.table, resources.dynamodb)
    charged = table.jobs_for_owner(ALICE)
    allowed = deployed.services.settings.limits.per_user_concurrent
    ledger.fault(
        FaultCase(
            "Concurrency",
            f"{CLICKS} Generate clicks at once, on {CLICKS} drafts (cap: {allowed} at a time)",
            "reserve the quota (DynamoDB)",
            requests=CLICKS,
            explained=len(refused),
            lost=CLICKS - len(launched) - len(refused),
            duplicates=len(charged) - len(launched),
        )
    )
    assert len(launched) == allowed
    assert len(refused) == CLICKS - allowed
    assert len(charged) == allowed  # nobody charged for a render that didn't start


def test_twenty_concurrent_clicks_on_one_draft_start_one_render(deployed, alice, slack, ledger):
    card = alice.draft_card(open_thread(alice, "a fox"))
    assert set(press_together(slack, [card] * CLICKS, ALICE)) == {200}
    deployed.lam.wait_idle()
    told = [t for t in alice.ephemerals() if "already rendering" in t]
    launched = deployed.aws.sagemaker_jobs()
    ledger.fault(
        FaultCase(
            "Concurrency",
            f"{CLICKS} Generate clicks at once, on one draft",
            "reserve the quota (DynamoDB)",
            requests=CLICKS,
            explained=len(told),
            lost=CLICKS - len(launched) - len(told),
            duplicates=len(launched) - 1,
        )
    )
    assert len(launched) == 1
    assert len(told) == CLICKS - 1


# ------------------------------------------------------------------------------------------- replays


def test_a_replayed_command_or_click_gets_401_and_changes_nothing(deployed, alice, slack, ledger):
    root = open_thread(alice, "a fox")
    alice.click(alice.draft_card(root), GENERATE)
    deployed.lam.wait_idle()
    command = next(d for d in slack.deliveries if d.kind == "slash_command")
    click = next(d for d in slack.deliveries if d.kind == "block_actions")
    before = (len(roots(slack)), len(deployed.aws.sagemaker_jobs()), len(slack.api_calls))
    replays = [slack.replay(command), slack.replay(click)]
    deployed.lam.wait_idle()
    after = (len(roots(slack)), len(deployed.aws.sagemaker_jobs()), len(slack.api_calls))
    ledger.input(
        InputCase(
            "Access",
            "a signed command and a click, sent again within 5 minutes (Lambda)",
            tried=len(replays),
            answered=sum(r.status == 401 for r in replays),
            failures=sum(r.status != 401 for r in replays),
            changed=int(after != before),
            note="401: each signature is claimed once, in the table",
        )
    )
    assert [r.status for r in replays] == [401, 401]
    assert after == before


def test_slacks_own_retry_of_an_event_is_answered_and_changes_nothing(deployed, alice, slack, ledger):
    root, delivery = refine_once(deployed, alice, "a fox")
    retries = [slack.retry(delivery, retry_num=n) for n in (1, 2, 3)]
    deployed.lam.wait_idle()
    drafts = slack.thread_transcript(CHANNEL, root.ts).count("*Draft 3*")
    ledger.input(
        InputCase(
            "Access",
            "Slack's retries of an event (X-Slack-Retry-Num 1-3)",
            tried=3,
            answered=sum(r.status == 200 for r in retries),
            failures=sum(r.status != 200 for r in retries),
            changed=drafts,
            note="200, handled once (the message's ts is taken)",
        )
    )
    assert [r.status for r in retries] == [200, 200, 200]
    assert drafts == 0


def test_a_dead_letter_delivered_twice_tells_the_person_once(deployed, alice, slack, ledger):
    deployed.lam.hold = True  # the lazy invocation never runs: it died before doing anything
    assert slack.slash_command("/video", "a fox", user=ALICE, channel=CHANNEL).status == 200
    [invocation] = deployed.lam.invocations
    record = {
        "messageId": "dead-1",
        "receiptHandle": "handle",
        "body": json.dumps(invocation),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:dead-letters",
        "awsRegion": "us-east-1",
    }
    for _ in range(2):  # SQS delivers at least once
        bot.runtime.lambda_handlers.explain_unfinished_requests({"Records": [record]}, LambdaContext())
    notes = [t for t in alice.ephemerals() if "may not have finished" in t]
    ledger.fault(
        FaultCase(
            "Lambda",
            "a lazy listener's invocation lost; its dead letter delivered twice",
            "/video's slow work",
            explained=int(bool(notes)),
            lost=int(not notes),
            duplicates=len(notes) - 1 if notes else 0,
        )
    )
    assert len(notes) == 1
