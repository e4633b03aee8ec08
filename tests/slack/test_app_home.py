"""The App Home tab: my recent videos (poster, prompt, a link to the thread), my quota and my renders under
way, my defaults for new videos, and deleting a video of mine. Driven through the real app with signed
requests from the stand-in; asserted on the Home tab as people see it."""

from __future__ import annotations

import json

import pytest

from bot.adapters.blobs import render_key
from bot.conversation.defaults import defaults_for
from bot.slack.blocks import GENERATE, excerpt
from bot.slack.home_blocks import DEFAULT_ASPECT, DEFAULT_MODEL, DEFAULT_QUALITY, DELETE_VIDEO
from localslack import SlackStandIn, View, render_blocks
from tests.conftest import ADMIN, ALICE, BOB, CHANNEL, FAST, seen, settle, video_in_thread
from tests.slack.slack_payloads import load_payload
from tests.slack.test_slack_payload_shapes import send_event, send_interaction


def home_of(slack: SlackStandIn, user: str, showing: str = "", timeout: float = 30) -> View:
    """`user`'s Home tab once it shows `showing`."""
    return slack.wait_until(
        lambda: next((v for v in [slack.home(user)] if v and showing in shown(v)), None),
        timeout=timeout,
        what=f"{user}'s Home tab showing {showing!r}",
    )


def shown(view: View) -> str:
    return "\n".join(render_blocks(view.view["blocks"], {}))


def blocks_of(view: View, kind: str) -> list[dict]:
    return [b for b in view.view["blocks"] if b["type"] == kind]


def render(slack: SlackStandIn, person, text: str = f"a fox in the snow {FAST}"):
    """A delivered video of `person`'s; returns (the root message, the job)."""
    root = person.video(text)
    person.click(person.draft_card(root), GENERATE)
    video_in_thread(slack, root)
    return root


def job_of(videobot, root):
    return videobot.store.get_job(videobot.store.get_session(CHANNEL, root.ts).job_ids[0])


def delivered(videobot, root):
    return videobot.store.get_job(job_of(videobot, root).job_id)


def test_opening_home_shows_my_quota_my_defaults_and_that_i_have_no_videos_yet(slack, videobot):
    slack.open_home(ALICE)
    home = home_of(slack, ALICE, "None yet")
    assert "0 of 20 renders used · 0 of 2 going" in shown(home)
    assert "Your defaults for new videos" in shown(home)
    assert "Final: full quality" in shown(home) and "Auto: the model's size" in shown(home)


def test_the_messages_tab_publishes_nothing(slack, videobot):
    slack.open_home(ALICE, tab="messages")
    settle()
    assert slack.home(ALICE) is None and not slack.calls("views.publish")


def test_a_finished_render_appears_on_my_home_at_once_for_one_call(slack, videobot, alice):
    root = render(slack, alice)
    # Nobody opened the tab: the render's end re-published it, with one call.
    home = home_of(slack, ALICE, "A fox in the snow")
    assert "1 of 20 renders used · 0 of 2 going" in shown(home)
    assert len(slack.calls("views.publish")) == 1
    assert not slack.calls("chat.getPermalink") and [f.name for f in slack.files] == ["video.mp4"]
    assert delivered(videobot, root).poster_file_id is None


def opened_with_a_video(slack, videobot, person):
    """`person`'s Home tab, opened after a video of theirs was delivered; returns (tab, root, job)."""
    root = render(slack, person)
    home_of(slack, person.user, "A fox in the snow")
    slack.open_home(person.user)
    return home_of(slack, person.user, "Open its thread"), root, delivered(videobot, root)


def test_my_home_shows_a_videos_poster_prompt_and_thread_link(slack, videobot, alice):
    home, root, job = opened_with_a_video(slack, videobot, alice)
    [image] = blocks_of(home, "image")
    poster = next(f for f in slack.files if f.id == image["slack_file"]["id"] == job.poster_file_id)
    assert poster.filetype == "jpg" and poster.channel is None  # the bot's own file, shared nowhere
    prompt = next(b for b in blocks_of(home, "section") if b.get("block_id") == f"video-{job.job_id}")
    assert prompt["text"] == {"type": "plain_text", "text": excerpt(job.spec["prompt"], 300), "emoji": False}
    link = f"{slack.base_url}archives/{CHANNEL}/p{root.ts.replace('.', '')}"
    assert job.permalink == link and f"<{link}|Open its thread>" in json.dumps(home.view["blocks"])


def test_once_shown_a_publish_costs_one_call(slack, videobot, alice):
    opened_with_a_video(slack, videobot, alice)
    before = len(slack.api_calls)
    slack.open_home(ALICE)
    slack.wait_until(lambda: len(slack.calls("views.publish")) == 3, what="the third publish")
    settle()
    assert [c.method for c in slack.api_calls[before:]] == ["views.publish"]


def test_a_render_under_way_shows_with_my_quota(slack, videobot, alice):
    root = alice.video("a fox in the snow")  # 49 frames: long enough to look at
    alice.click(alice.draft_card(root), GENERATE)
    slack.open_home(ALICE)
    home = home_of(slack, ALICE, "1 of 2 going")
    assert "a fox" in shown(home).lower() and "None yet" in shown(home)
    video_in_thread(slack, root)
    home_of(slack, ALICE, "0 of 2 going")


def test_my_default_model_and_quality_start_my_new_sessions(slack, videobot, alice):
    slack.open_home(ALICE)
    home_of(slack, ALICE)
    slack.click_home(DEFAULT_MODEL, user=ALICE, value="tiny-wan")
    home_of(slack, ALICE, "Saved")
    slack.click_home(DEFAULT_QUALITY, user=ALICE, value="draft")
    home = home_of(slack, ALICE, "Draft: a quick preview")
    selects = {
        b["accessory"]["action_id"]: b["accessory"] for b in blocks_of(home, "section") if "accessory" in b
    }
    assert selects[DEFAULT_MODEL]["initial_option"]["value"] == "tiny-wan"
    assert selects[DEFAULT_QUALITY]["initial_option"]["value"] == "draft"
    card = seen(alice.draft_card(alice.video("a fox")))
    assert "tiny Wan" in card and "draft quality" in card


def test_flags_still_win_over_my_defaults(slack, videobot, alice):
    slack.open_home(ALICE)
    home_of(slack, ALICE)
    slack.click_home(DEFAULT_QUALITY, user=ALICE, value="draft")
    home_of(slack, ALICE, "Saved")
    card = seen(alice.draft_card(alice.video("a fox --model tiny")))
    assert "tiny CogVideoX" in card and "draft quality" in card


def test_my_aspect_default_is_kept_for_new_sessions_to_read(slack, videobot):
    slack.open_home(ALICE)
    home_of(slack, ALICE)
    slack.click_home(DEFAULT_ASPECT, user=ALICE, value="9:16")
    home_of(slack, ALICE, "Saved")
    assert defaults_for(videobot.store, ALICE).aspect == "9:16"
    assert defaults_for(videobot.store, BOB).aspect == "auto"


def test_deleting_my_video_removes_its_slack_files_its_stored_render_and_its_listing(slack, videobot, alice):
    _, root, job = opened_with_a_video(slack, videobot, alice)
    slack.click_home(DELETE_VIDEO, user=ALICE, value=job.job_id)
    home = home_of(slack, ALICE, "Deleted the video")
    assert "None yet" in shown(home) and not blocks_of(home, "image")
    assert {job.file_id, job.poster_file_id}.isdisjoint(f.id for f in slack.files)
    assert not videobot.blobs.exists(render_key(job.job_id, "video.mp4"))
    assert not videobot.blobs.exists(render_key(job.job_id, "poster.jpg"))
    assert delivered(videobot, root).deleted_at is not None


def test_a_deleted_video_leaves_video_status_but_still_counts(slack, videobot, alice):
    _, _, job = opened_with_a_video(slack, videobot, alice)
    slack.click_home(DELETE_VIDEO, user=ALICE, value=job.job_id)
    home_of(slack, ALICE, "Deleted the video")
    slack.slash_command("/video", "status", user=ALICE, channel=CHANNEL)
    status = alice.told("Your renders in the last 24 hours")
    assert "(1 of 20 used)" in status and "None yet" in status


def test_the_delete_button_asks_first(slack, videobot, alice):
    home, _, _ = opened_with_a_video(slack, videobot, alice)
    [button] = [
        b["accessory"] for b in blocks_of(home, "section") if b.get("block_id", "").startswith("video-")
    ]
    assert button["action_id"] == DELETE_VIDEO and button["style"] == "danger"
    assert button["confirm"]["title"]["text"] == "Delete this video?"
    assert (button["confirm"]["confirm"]["text"], button["confirm"]["deny"]["text"]) == ("Delete", "Keep it")


def hand_made_delete(slack: SlackStandIn, user: str, job_id: str):
    ws = slack.workspace
    payload = load_payload(
        "block_actions_home",
        user=user,
        team_id=ws.team_id,
        app_id=ws.app_id,
        trigger_id=slack.trigger_id(user),
        action_id=DELETE_VIDEO,
        value=job_id,
    )
    return send_interaction(slack, payload)


def test_someone_elses_video_shows_no_delete_and_cant_be_deleted(slack, videobot, alice):
    _, root, job = opened_with_a_video(slack, videobot, alice)
    slack.open_home(BOB)
    assert DELETE_VIDEO not in json.dumps(home_of(slack, BOB, "None yet").view)  # Bob's Home: Bob's videos
    assert hand_made_delete(slack, BOB, job.job_id).status == 200
    home_of(slack, BOB, "You can only delete your own videos.")
    assert job.file_id in {f.id for f in slack.files}
    assert videobot.blobs.exists(render_key(job.job_id, "video.mp4"))
    assert delivered(videobot, root).deleted_at is None


def test_an_admin_can_delete_someone_elses_video(slack, start_app, alice):
    videobot = start_app(admins=frozenset({ADMIN}))
    _, _, job = opened_with_a_video(slack, videobot, alice)
    assert hand_made_delete(slack, ADMIN, job.job_id).status == 200
    home_of(slack, ADMIN, "Deleted the video")
    assert job.file_id not in {f.id for f in slack.files}
    home_of(slack, ALICE, "None yet")  # its owner's Home follows


def test_slacks_own_app_home_opened_payload_publishes_the_home(slack, videobot):
    ws = slack.workspace
    envelope = load_payload(
        "app_home_opened",
        user=ALICE,
        team_id=ws.team_id,
        app_id=ws.app_id,
        bot_user_id=ws.bot_user_id,
        dm_channel=slack.dm_channel(ALICE),
        tab="home",
    )
    assert send_event(slack, envelope).status == 200
    assert "Your defaults for new videos" in shown(home_of(slack, ALICE))


@pytest.mark.parametrize("value", ["not-a-job", ""])
def test_a_delete_for_a_video_that_isnt_there_says_so_on_the_tab(slack, videobot, value):
    assert hand_made_delete(slack, ALICE, value).status == 200
    if value:
        home_of(slack, ALICE, "That video is already gone.")
    else:
        settle()
        assert slack.home(ALICE) is None
