"""A real Bolt app against the stand-in: verification, ack, say, respond, uploads and self-event filtering."""

from __future__ import annotations

import pytest

slack_bolt = pytest.importorskip("slack_bolt")
from slack_bolt import App, BoltRequest  # noqa: E402

from tests.localslack.constants import ALICE, GENERAL, SECRET  # noqa: E402

CARD = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Draft 1"}},
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Generate"},
                "action_id": "generate",
                "value": "1",
            }
        ],
    },
]


def bolt_transport(app: App):
    def send(body: bytes, headers: dict[str, str]):
        response = app.dispatch(BoltRequest(body=body.decode(), headers=headers))
        return response.status, {k: v[0] for k, v in response.headers.items()}, response.body

    return send


def test_a_bolt_app_runs_a_whole_conversation_against_the_stand_in(slack):
    slack.echo_bot_messages = True
    app = App(signing_secret=SECRET, client=slack.client())
    heard: list[dict] = []

    @app.command("/video")
    def video(ack, say, command):
        ack("On it!")
        say(text=f"🎬 <@{command['user_id']}> wants a video: {command['text']}", blocks=CARD)

    @app.action("generate")
    def generate(ack, body, respond, client):
        ack()
        respond(text="Rendering…", replace_original=True)
        thread_ts = body["container"]["message_ts"]
        client.files_upload_v2(
            channel=body["channel"]["id"],
            thread_ts=thread_ts,
            content=b"mp4",
            filename="video.mp4",
            initial_comment="Done",
        )

    @app.event("message")
    def on_message(event):
        heard.append(event)

    slack.connect_app(bolt_transport(app))
    assert slack.slash_command("/video", "a corgi", user=ALICE, channel=GENERAL).status == 200
    root = slack.wait_until(lambda: slack.messages(GENERAL)[0], timeout=5, what="the card")
    assert slack.click(root, "generate", user=ALICE).status == 200
    slack.wait_until(lambda: slack.files, timeout=5, what="the video")
    slack.say(GENERAL, "make it night", user=ALICE, thread_ts=root.ts)
    slack.wait_until(lambda: heard, timeout=5, what="the person's message")

    def echoes():
        events = [d.payload.get("event", {}) for d in slack.deliveries]
        return [e for e in events if e.get("bot_id") or e.get("message", {}).get("bot_id")]

    slack.wait_until(
        lambda: len(echoes()) >= 3, timeout=5, what="echoes of the card, the edit and the upload"
    )
    assert [e["text"] for e in heard] == ["make it night"]  # Bolt dropped the echoes of its own posts
    assert slack.deliveries[0].status == 200 and all(d.status == 200 for d in slack.deliveries)
    transcript = slack.transcript(GENERAL)
    assert "@alice (only visible to @alice): /video a corgi" in transcript
    assert "videobot (only visible to @alice): On it!" in transcript
    assert "videobot (edited): Rendering…" in transcript
    assert "    " in transcript and "videobot: 📎 video.mp4 (3 B) — Done" in transcript
