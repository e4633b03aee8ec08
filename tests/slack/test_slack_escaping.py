"""Slack escapes `&`, `<`, `>` in people's text and writes mentions and links as `<…>` tokens: the app
decodes that once on the way in and escapes once on the way out, so people see what they typed, the model
reads what they typed, and nothing they typed comes back as a mention, a broadcast or a link."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from bot.slack.text import plain_text_from_slack
from tests.conftest import ALICE, CHANNEL, thread_text
from tests.slack.slack_payloads import load_payload


@pytest.mark.parametrize(
    ("sent", "typed"),
    [
        ("a cat &amp; a dog", "a cat & a dog"),
        ("&lt;3 &gt; 2", "<3 > 2"),
        ("&amp;lt; stays as typed", "&lt; stays as typed"),
        ("with <@U0BOB> and <@U0ANN|ann>", "with someone and ann"),
        ("in <#C0GEN|general> or <#C0OTHER>", "in general or a channel"),
        ("<!here> <!channel> <!everyone|@everyone> look", "here channel everyone look"),
        ("ask <!subteam^S0DESIGN|@design>", "ask design"),
        ("on <!date^1392734382^{date}|Feb 18, 2014>", "on Feb 18, 2014"),
        ("like <https://evil.example/x|this &amp; that>", "like this & that"),
        ("see <https://example.com/a?b=1&amp;c=2>", "see https://example.com/a?b=1&c=2"),
        ("write <mailto:a@example.com|a@example.com>", "write a@example.com"),
    ],
)
def test_slacks_escaping_and_tokens_become_the_plain_words_typed(sent, typed):
    assert plain_text_from_slack(sent) == typed


def test_a_mention_of_the_bot_itself_is_left_out():
    assert plain_text_from_slack("<@UVIDEOBOT> make it  night", bot_user_id="UVIDEOBOT") == "make it night"


def sent_by_the_bot(slack) -> str:
    return json.dumps([c.params for c in slack.api_calls if c.method.startswith("chat.")])


def test_an_ampersand_and_angle_brackets_in_a_command_show_once_and_reach_the_model_as_typed(
    slack, videobot, alice
):
    root = alice.video("a cat & a dog <3")
    assert "a cat &amp; a dog &lt;3" in root.text  # escaped once for Slack, not twice
    assert "&amp;amp;" not in sent_by_the_bot(slack)
    alice.draft_card(root)
    shown = thread_text(slack, root)
    assert "a cat & a dog <3" in shown and "&amp;" not in shown and "&lt;" not in shown
    assert videobot.store.get_session(CHANNEL, root.ts).idea == "a cat & a dog <3"


def test_a_reply_with_an_ampersand_refines_with_what_was_typed(slack, videobot, alice):
    root = alice.video("a fox in the snow")
    alice.draft_card(root)
    alice.reply(root, "make it night & add rain")
    alice.draft_card(root, revision=2)
    turns = videobot.store.get_session(CHANNEL, root.ts).turns
    assert [t.text for t in turns if t.role == "user"][-1] == "make it night & add rain"
    assert "&amp;amp;" not in sent_by_the_bot(slack)


def test_mentions_broadcasts_and_links_in_a_reply_become_plain_words(slack, videobot, alice):
    root = alice.video("a fox in the snow")
    alice.draft_card(root)
    alice.reply(root, "<@UVIDEOBOT> put <@UBOB> in it <!here>, like <https://evil.example|this film>")
    alice.draft_card(root, revision=2)
    turns = videobot.store.get_session(CHANNEL, root.ts).turns
    assert [t.text for t in turns if t.role == "user"][-1] == "put someone in it here, like this film"
    sent = sent_by_the_bot(slack)
    assert "<@UBOB>" not in sent and "<!here>" not in sent and "evil.example" not in sent


def test_a_mention_typed_in_a_command_stays_plain_text(slack, videobot, alice):
    root = alice.video("<@UBOB> dancing & singing")  # should_escape is off: Slack sends "@bob"
    assert root.text.count("<@") == 1 and f"<@{ALICE}>" in root.text  # only the owner is mentioned
    alice.draft_card(root)  # the session is saved by the slow work after the ack
    assert videobot.store.get_session(CHANNEL, root.ts).idea == "@bob dancing & singing"


def test_words_typed_in_a_flag_come_back_in_the_answer_as_text_never_as_a_broadcast(slack, videobot):
    form = load_payload(
        "slash_command",
        team_id=slack.workspace.team_id,
        app_id=slack.workspace.app_id,
        channel=CHANNEL,
        user=ALICE,
        text="a fox --seed &lt;!here&gt;",  # "<!here>" typed as characters, as Slack sends it
        response_url=slack.response_url(CHANNEL, ALICE),
    )
    body = urlencode(form).encode()
    answer = slack.signed_post(body, "application/x-www-form-urlencoded", kind="slash_command", payload=form)
    note = answer.json["text"] if isinstance(answer.json, dict) else answer.text
    assert "`--seed` takes a whole number" in note
    assert "not `&lt;!here&gt;`" in note and "<!here>" not in note
