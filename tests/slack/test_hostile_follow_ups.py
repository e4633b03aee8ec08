"""Hand-made choices under a finished video (⏩ Extend, 〰️ Smooth, 🔍 Upscale): values no menu offers,
sent as Slack's own signed block_actions through the real Bolt app. Each is refused with a true sentence
and starts nothing."""

from __future__ import annotations

import json

from bot.slack.blocks import UPSCALE_VIDEO
from tests.conftest import CHANNEL
from tests.slack.slack_payloads import load_payload
from tests.slack.test_post_processing import job_ids, rendered  # noqa: F401 - the module's render
from tests.slack.test_slack_payload_shapes import send_interaction


def hand_made(rendered, action_id: str, value: dict) -> None:  # noqa: F811
    slack, user = rendered.slack, rendered.alice.user
    payload = load_payload(
        "block_actions_ephemeral",
        user=user,
        team_id=slack.workspace.team_id,
        app_id=slack.workspace.app_id,
        message_ts=rendered.result.ts,
        channel=CHANNEL,
        trigger_id=slack.trigger_id(user),
        response_url=f"{slack.base_url}response",
        action_id=action_id,
        value=json.dumps(value),
    )
    assert send_interaction(slack, payload).status == 200


def test_an_upscale_by_a_factor_no_menu_offers_is_refused_as_such_not_as_too_large(rendered):  # noqa: F811
    before = job_ids(rendered.services, rendered.root)
    hand_made(rendered, UPSCALE_VIDEO, {"job_id": before[0], "factor": 3})
    said = rendered.alice.told("Upscal")
    assert "larger than Slack plays" not in said  # 192×128 ×3 would play; 3 just isn't a choice
    assert "1, 2 or 4 times larger, not 3" in said
    assert job_ids(rendered.services, rendered.root) == before
