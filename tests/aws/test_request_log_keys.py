"""Log lines written while answering Slack name the channel, the person and the thread, though the
request body is only parsed for them when a line is actually written (the ack path usually writes none)."""

from __future__ import annotations

import io
import json

import bot.runtime.logs
from tests.conftest import ALICE, CHANNEL


def test_a_line_logged_while_answering_slack_names_its_channel_person_and_thread(deployed, slack):
    written = io.StringIO()
    bot.runtime.logs.setup_logging(stream=written)
    event = {
        "type": "message",
        "channel": CHANNEL,
        "user": ALICE,
        "text": "make it night",
        "ts": "1700000001.000200",
        "thread_ts": "1700000000.000100",
        "channel_type": "channel",
    }
    answer = slack.send_event(event, retry_num=1)  # the function logs Slack's retries
    deployed.lam.wait_idle()
    assert answer.status == 200
    [retry] = [r for r in map(json.loads, written.getvalue().splitlines()) if "Slack retry" in r["message"]]
    assert retry["channel"] == CHANNEL
    assert retry["user"] == ALICE
    assert retry["session"] == f"{CHANNEL}:1700000000.000100"


def test_deferred_keys_are_worked_out_only_when_a_line_is_logged():
    asked = []

    def keys() -> dict[str, str]:
        asked.append(1)
        return {"channel": "C1", "user": "U1"}

    with bot.runtime.logs.log_context(request_id="r-1"), bot.runtime.logs.deferred_log_context(keys):
        assert asked == []
        assert bot.runtime.logs.current_keys() == {"request_id": "r-1", "channel": "C1", "user": "U1"}
        bot.runtime.logs.current_keys()
    assert asked == [1]  # once, however many lines
    assert bot.runtime.logs.current_keys() == {}
