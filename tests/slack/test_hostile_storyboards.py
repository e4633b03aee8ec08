"""Storyboards attacked through the real app: a shot edited with more text than any render takes (a
hand-made view_submission: Slack's max_length is only the client's), a refused edit, an odd shot count."""

from __future__ import annotations

from bot.slack.story_blocks import STORY_EDIT
from processing_job.spec import MAX_PROMPT_CHARS
from tests.conftest import CHANNEL, settle
from tests.slack.test_storyboards import story


def test_a_shot_prompt_longer_than_a_render_takes_is_refused_in_the_editor(slack, videobot, alice):
    root, card = story(slack, alice, "a red fox running through snow --shots 2")
    before = videobot.store.get_storyboard(CHANNEL, root.ts).shots[0].prompt
    slack.click(card, STORY_EDIT, user=alice.user, block_id="shot-1")
    view = slack.wait_until(lambda: next((v for v in slack.views if v.open), None), what="the shot editor")
    too_long = "a fox " * (MAX_PROMPT_CHARS // 5)
    slack.submit_view(
        view.id, {"shot_title": {"title": "Fox"}, "shot_prompt": {"prompt": too_long}}, user=alice.user
    )
    editor = next(v for v in slack.views if v.id == view.id)  # as it is now
    assert editor.open and "shot_prompt" in (editor.errors or {})
    assert videobot.store.get_storyboard(CHANNEL, root.ts).shots[0].prompt == before


def test_a_shot_the_editor_refused_is_not_saved_anyway(slack, videobot, alice):
    root, card = story(slack, alice, "a red fox running through snow --shots 2")
    before = videobot.store.get_storyboard(CHANNEL, root.ts).shots[0].prompt
    slack.click(card, STORY_EDIT, user=alice.user, block_id="shot-1")
    view = slack.wait_until(lambda: next((v for v in slack.views if v.open), None), what="the shot editor")
    blank = {"shot_title": {"title": "Fox"}, "shot_prompt": {"prompt": "   "}}
    slack.submit_view(view.id, blank, user=alice.user)
    editor = next(v for v in slack.views if v.id == view.id)
    assert editor.open and "shot_prompt" in (editor.errors or {})  # the modal says so…
    settle()
    assert videobot.store.get_storyboard(CHANNEL, root.ts).shots[0].prompt == before  # …and nothing saved


def test_a_superscript_shot_count_gets_the_shots_sentence(slack, videobot, alice):
    answer = slack.slash_command("/video", "story a fox --shots ²", user=alice.user, channel=CHANNEL)
    assert answer.status == 200
    assert "`--shots` takes a whole number from 2 to 8, not `²`" in answer.body.decode()
    assert not slack.messages(CHANNEL)
