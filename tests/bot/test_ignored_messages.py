"""Only replies in session threads and shared pictures are requests; everything else is left alone."""

from __future__ import annotations

from tests.bot.conftest import ALICE, BOB, CHANNEL, settle


def bot_posts(slack):
    return [c for c in slack.api_calls if c.method.startswith("chat.") or c.method.startswith("files.")]


def test_top_level_chatter_and_other_threads_are_ignored(slack, videobot, alice):
    chatter = slack.say(CHANNEL, "lunch?", user=BOB)
    slack.say(CHANNEL, "yes, make it a fox video", user=ALICE, thread_ts=chatter.ts)
    settle()
    assert bot_posts(slack) == []


def test_edits_and_deletions_in_a_session_thread_are_ignored(slack, videobot, alice):
    root = alice.video("a fox")
    first = alice.draft_card(root)
    reply = alice.reply(root, "make it night")
    alice.draft_card(root, revision=2)
    # draft 1 loses its buttons just after draft 2 appears: count from when the thread is quiet
    slack.wait_until(lambda: not slack.message(CHANNEL, first.ts).action_ids(), what="draft 1 closed")
    before = len(bot_posts(slack))
    slack.edit(reply, "make it day")
    slack.delete(reply)
    settle()
    assert len(bot_posts(slack)) == before
    assert all(d.status == 200 for d in slack.deliveries)


def test_the_bots_own_messages_never_start_a_refinement(slack, videobot, alice):
    slack.echo_bot_messages = True  # Slack sends the app its own posts too
    root = alice.video("a fox")
    alice.draft_card(root)
    settle()
    assert videobot.store.get_session(CHANNEL, root.ts).draft.revision == 1


def test_a_reply_slack_delivers_twice_refines_once(slack, videobot, alice):
    root = alice.video("a fox")
    alice.draft_card(root)
    alice.reply(root, "make it night")
    alice.draft_card(root, revision=2)
    slack.retry(slack.deliveries[-1], retry_num=1, retry_reason="http_timeout")
    settle()
    assert videobot.store.get_session(CHANNEL, root.ts).draft.revision == 2
