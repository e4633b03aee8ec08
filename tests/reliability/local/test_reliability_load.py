"""Load: 200 `/video` requests from 20 people typing at once, against the local HTTP app on loopback.
Every one is acknowledged within Slack's 3 seconds, and every one gets its thread and draft card, once.

/video only drafts (the offline prompt writer, no render), so this measures the Slack side: Bolt's
ack, the lazy listeners, SQLite, the stand-in's Web API. The ack times are a figure for
docs/reliability.md; what is asserted is Slack's limit, with the concurrency bounded (20 senders).
"""

from __future__ import annotations

import statistics
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from bot.slack.blocks import GENERATE
from tests.conftest import CHANNEL
from tests.reliability.ledger import LoadRun

SENDERS = 20
REQUESTS = 200
SLACK_ACK_LIMIT_S = 3.0


def test_two_hundred_video_requests_from_twenty_senders_are_each_acked_in_time_and_drafted_once(
    slack, videobot, ledger
):
    people = [f"ULOAD{n:02d}" for n in range(SENDERS)]
    for person in people:
        slack.add_user(person, person.lower())

    def send(sender: int) -> list:
        return [
            slack.slash_command(
                "/video", f"load test idea {sender}-{k}", user=people[sender], channel=CHANNEL
            )
            for k in range(REQUESTS // SENDERS)
        ]

    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        answers = [a for batch in pool.map(send, range(SENDERS)) for a in batch]

    def drafted() -> Counter:
        cards = Counter()
        for root in slack.messages(CHANNEL):
            if root.bot_id and "load test idea" in root.text and root.thread_ts in (None, root.ts):
                idea = root.text.split("load test idea ", 1)[1].strip("*")
                has_card = any(GENERATE in m.action_ids() for m in slack.thread(CHANNEL, root.ts))
                cards[idea] += int(has_card)
        return cards

    cards = slack.wait_until(
        lambda: found if sum((found := drafted()).values()) >= REQUESTS else None,
        timeout=120,
        what="a draft card for every request",
    )
    elapsed = sorted(a.elapsed for a in answers)
    run = LoadRun(
        requests=REQUESTS,
        senders=SENDERS,
        acked=sum(a.status == 200 for a in answers),
        within_limit=sum(a.status == 200 and a.elapsed <= SLACK_ACK_LIMIT_S for a in answers),
        lost=REQUESTS - len(cards),
        duplicates=sum(n - 1 for n in cards.values() if n > 1),
        p50_s=statistics.median(elapsed),
        p99_s=elapsed[int(0.99 * (len(elapsed) - 1))],
        max_s=elapsed[-1],
        limit_s=SLACK_ACK_LIMIT_S,
    )
    ledger.load = run
    assert run.acked == REQUESTS
    assert run.within_limit == REQUESTS
    assert run.lost == 0
    assert run.duplicates == 0
