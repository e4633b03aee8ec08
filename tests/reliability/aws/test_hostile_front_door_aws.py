"""Events the bot ignores, sent signed to the deployed Lambda handler (moto's server, the stand-in):
acked and dropped at the front door without an AWS call."""

from __future__ import annotations

from tests.aws.test_ignored_events_cost_nothing import aws_calls, warm  # noqa: F401 - the fixtures
from tests.conftest import ALICE


def test_opening_the_bots_messages_tab_costs_no_aws_call(warm, slack, aws_calls):  # noqa: F811
    # Every open of the DM with the bot sends app_home_opened (tab "messages"): nothing to publish.
    assert slack.open_home(ALICE, tab="messages").status == 200
    warm.lam.wait_idle()
    assert aws_calls == []
    assert warm.lam.invocations == []
