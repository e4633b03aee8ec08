"""Slow work never delays an ack: a burst of someone's slow refinements (each several seconds) runs on
its own threads, and another person's /video meanwhile is acknowledged within Slack's 3 seconds."""

from __future__ import annotations

import threading
import time

from bot.blocks import GENERATE
from bot.refiner.offline import OfflineRefiner
from tests.bot.conftest import ALICE, BOB, CHANNEL
from tests.reliability.ledger import FaultCase

BURST = 12
SLOW_S = 4.0


class SlowRefiner(OfflineRefiner):
    """The offline refiner, taking as long as Claude can on a long thread."""

    def refine(self, request, on_text=None):
        time.sleep(SLOW_S)
        return super().refine(request, on_text)


def test_a_burst_of_slow_refinements_doesnt_delay_another_persons_ack(slack, start_app, ledger):
    start_app(with_refiner=SlowRefiner())
    burst = [
        threading.Thread(
            target=slack.slash_command, args=("/video", f"owl {n}"), kwargs={"user": BOB, "channel": CHANNEL}
        )
        for n in range(BURST)
    ]
    for thread in burst:
        thread.start()
    for thread in burst:
        thread.join()
    time.sleep(0.2)  # Bob's slow work has every worker it can get
    answers = []
    for n in range(4):  # another person's commands, while Bob's refinements are still being written
        answers.append(slack.slash_command("/video", f"a fox {n}", user=ALICE, channel=CHANNEL))
    late = [a for a in answers if a.status != 200 or a.elapsed >= 3]
    ledger.fault(
        FaultCase(
            "Concurrency",
            f"{len(answers)} /video from one person while {BURST} of another's slow refinements "
            f"({SLOW_S:g} s each) run",
            "ack (local server)",
            requests=len(answers),
            explained=len(answers) - len(late),
            lost=len(late),
        )
    )
    assert late == []
    # Everyone's drafts follow once the slow work is done (and none is cut off by the test ending).
    slack.wait_until(
        lambda: len([m for m in slack.messages(CHANNEL) if GENERATE in m.action_ids()]) == BURST + 4 or None,
        what="every draft card",
    )
