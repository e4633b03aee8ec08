"""People's text reaches the app as Slack sends it (`&`, `<`, `>` escaped; mentions and links as tokens),
and the transcript shows it as Slack's client does (unescaped)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from tests.localslack.constants import ALICE, BOB, GENERAL


def last_event(app_endpoint) -> dict:
    return json.loads(app_endpoint.requests[-1][1])["event"]


def test_typed_ampersands_and_angle_brackets_arrive_escaped_and_show_as_typed(slack, app_endpoint):
    said = slack.say(GENERAL, "a cat & a dog <3 > 2", user=ALICE)
    event = last_event(app_endpoint)
    assert event["text"] == "a cat &amp; a dog &lt;3 &gt; 2" == said.text
    assert event["blocks"][0]["elements"][0]["elements"] == [{"type": "text", "text": "a cat & a dog <3 > 2"}]
    assert slack.transcript(GENERAL).endswith("@alice: a cat & a dog <3 > 2")


def test_mentions_broadcasts_and_links_picked_in_the_composer_arrive_as_tokens(slack, app_endpoint):
    slack.say(
        GENERAL, "hey <@UBOB> <!here> see <https://example.com|the film> & https://example.org.", user=ALICE
    )
    event = last_event(app_endpoint)
    assert event["text"] == (
        "hey <@UBOB> <!here> see <https://example.com|the film> &amp; <https://example.org>."
    )
    kinds = [e["type"] for e in event["blocks"][0]["elements"][0]["elements"]]
    assert kinds == ["text", "user", "text", "broadcast", "text", "link", "text", "link", "text"]
    assert slack.transcript(GENERAL).endswith("@alice: hey @bob @here see the film & https://example.org.")


def test_a_slash_commands_text_arrives_escaped_with_mentions_as_plain_words(slack, app_endpoint):
    slack.slash_command("/video", "<@UBOB> & me <3", user=ALICE, channel=GENERAL)
    sent = parse_qs(app_endpoint.requests[-1][1].decode())["text"][0]
    assert sent == "@bob &amp; me &lt;3"  # should_escape is off in our manifest
    assert slack.transcript(GENERAL).endswith("(only visible to @alice): /video @bob & me <3")


def test_a_reply_also_sent_to_the_channel_is_a_thread_broadcast_with_its_root(slack, app_endpoint):
    root = slack.say(GENERAL, "a fox", user=BOB)
    reply = slack.say(GENERAL, "make it night", user=ALICE, thread_ts=root.ts, broadcast=True)
    event = last_event(app_endpoint)
    assert (event["subtype"], event["thread_ts"], event["ts"]) == ("thread_broadcast", root.ts, reply.ts)
    assert event["root"]["ts"] == root.ts and event["root"]["user"] == BOB


def test_an_edit_arrives_escaped_too(slack, app_endpoint):
    said = slack.say(GENERAL, "a fox", user=ALICE)
    slack.edit(said, "a fox & a hare")
    assert last_event(app_endpoint)["message"]["text"] == "a fox &amp; a hare"
    assert "a fox & a hare" in slack.transcript(GENERAL)


def test_a_hosted_file_is_served_and_described_without_any_event(slack, app_endpoint, tmp_path):
    pdf = tmp_path / "brief.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    hosted = slack.host_file(pdf, user=ALICE, file_id="F0BRIEF")
    assert app_endpoint.requests == []
    info = slack.client().files_info(file="F0BRIEF")["file"]
    assert (info["id"], info["mimetype"], info["size"]) == ("F0BRIEF", "application/pdf", 8)
    assert (
        info["url_private"].startswith(slack.base_url + "files-pri/") and hosted.read_bytes() == b"%PDF-1.4"
    )


def test_a_file_from_a_slack_connect_partner_arrives_as_a_stub_files_info_completes(
    slack, app_endpoint, tmp_path
):
    pdf = tmp_path / "brief.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    shared = slack.share_file(GENERAL, pdf, user=ALICE, slack_connect=True)
    [stub] = last_event(app_endpoint)["files"]
    assert stub["mode"] == "file_access" and stub["file_access"] == "check_file_info"
    assert "url_private" not in stub and "mimetype" not in stub
    info = slack.client().files_info(file=stub["id"])["file"]
    assert (info["id"], info["mimetype"]) == (shared.files[0].id, "application/pdf")
