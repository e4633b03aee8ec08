"""A video shared with the bot (in a DM, with the bot mentioned, or into a session's thread) starts a
restyle: a video-to-video draft whose style replies refine, rendered from the shared clip. The clip is
fetched only from Slack and checked (type, size, then length and frames from its header) before
anything decodes it; bad clips get a polite sentence."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.slack.blocks import GENERATE, OPEN_SETTINGS
from processing_job.export import ffmpeg_exe
from processing_job.spec import DEFAULT_STRENGTH
from tests.conftest import ALICE, BOB, CHANNEL, file_event, roots, seen, settle, video_in_thread
from tests.processing_job.clips import make_clip

BOT = "UVIDEOBOT"  # the stand-in's bot user
RESTYLES = f"restyles the shared video · strength {DEFAULT_STRENGTH:g}"


@pytest.fixture
def clip(tmp_path) -> Path:
    """Two seconds of moving colour bars, as a phone would share them (H.264 mp4)."""
    return make_clip(tmp_path / "street.mp4", frames=17, width=96, height=64, fps=8)


def test_a_video_shared_in_a_direct_message_starts_a_restyle_draft(slack, videobot, alice, clip):
    dm = slack.dm_channel(ALICE)
    shared = slack.share_file(dm, clip, user=ALICE, text="as a watercolour painting")
    card = alice.draft_card(shared.ts, channel=dm)
    assert RESTYLES in seen(card)
    assert any("Got your video, <@UALICE>" in m.text for m in slack.thread(dm, shared.ts))
    session = videobot.store.get_session(dm, shared.ts)
    assert videobot.blobs.open(session.video_key).read() == clip.read_bytes()


def test_a_video_shared_in_a_channel_with_the_bot_mentioned_starts_a_restyle(slack, start_app, alice, clip):
    start_app(channel_pictures="mention")
    shared = slack.share_file(CHANNEL, clip, user=ALICE, text=f"<@{BOT}> make it look like a neon night")
    assert RESTYLES in seen(alice.draft_card(shared.ts))


def test_a_video_shared_into_a_sessions_thread_makes_it_a_restyle(slack, videobot, alice, clip):
    root = alice.video("a rainy street at night")
    alice.draft_card(root)
    slack.share_file(CHANNEL, clip, user=ALICE, thread_ts=root.ts)
    assert RESTYLES in seen(alice.draft_card(root, revision=2))


def test_replies_refine_the_style_and_keep_the_video(slack, videobot, alice, clip):
    shared = slack.share_file(CHANNEL, clip, user=ALICE, text="as an oil painting")
    first = alice.draft_card(shared.ts)
    slack.say(CHANNEL, "make it night", user=ALICE, thread_ts=shared.ts)
    second = alice.draft_card(shared.ts, revision=2)
    assert RESTYLES in seen(second) and "night" in seen(second).lower()
    assert seen(first) != seen(second)


def test_only_the_owner_can_give_a_session_another_video(slack, videobot, alice, bob, clip):
    root = alice.video("a rainy street at night")
    alice.draft_card(root)
    slack.share_file(CHANNEL, clip, user=BOB, thread_ts=root.ts)
    bob.told("Only <@UALICE>")
    assert videobot.store.get_session(CHANNEL, root.ts).mode == "t2v"


def test_generate_restyles_the_shared_video(slack, videobot, alice, clip):
    shared = slack.share_file(CHANNEL, clip, user=ALICE, text="as a pencil sketch")
    alice.click(alice.draft_card(shared.ts), GENERATE)
    video = video_in_thread(slack, shared.ts)
    assert "here is your video" in video.initial_comment
    job = videobot.store.get_job(videobot.store.get_session(CHANNEL, shared.ts).job_ids[-1])
    assert job.job_spec.mode == "v2v" and job.job_spec.restyle_strength == DEFAULT_STRENGTH
    assert job.job_spec.num_frames <= 17  # no longer than the two-second clip


def test_a_video_longer_than_a_minute_is_refused_from_its_header(slack, videobot, alice, tmp_path):
    long_clip = make_clip(tmp_path / "film.mp4", frames=62, width=32, height=32, fps=1)
    slack.share_file(CHANNEL, long_clip, user=ALICE)
    note = alice.told("seconds long")
    assert "I can take videos up to 60 seconds. Please trim it and share it again." in note


def test_a_video_too_large_is_refused_before_download(slack, videobot, alice):
    huge = {
        "id": "F0HUGE",
        "name": "holiday.mp4",
        "mimetype": "video/mp4",
        "filetype": "mp4",
        "size": 300 * 2**20,
        "url_private_download": slack.api_url.replace("/api/", "/files/F0HUGE/holiday.mp4"),
    }
    slack.send_event(file_event(huge))
    assert "I can take videos up to 100 MB" in alice.told("That video is 300 MB")


def test_a_webm_video_gets_a_polite_answer(slack, videobot, alice, tmp_path):
    webm = make_clip(tmp_path / "clip.webm", frames=9, codec=["-c:v", "libvpx-vp9"])
    slack.share_file(CHANNEL, webm, user=ALICE)
    assert "I can restyle MP4 or MOV videos" in alice.told("I can restyle")


def test_a_file_pretending_to_be_a_video_is_refused_after_a_look_at_its_header(
    slack, videobot, alice, tmp_path
):
    fake = tmp_path / "trip.mp4"
    fake.write_bytes(b"not a video at all " * 50)
    slack.share_file(CHANNEL, fake, user=ALICE)
    alice.told("I couldn't open that file as a video")


def test_a_video_hosted_outside_slack_is_never_fetched(slack, videobot, alice):
    evil = {
        "id": "F0EVIL",
        "name": "cat.mp4",
        "mimetype": "video/mp4",
        "filetype": "mp4",
        "size": 1000,
        "url_private_download": "https://attacker.example/cat.mp4",
    }
    slack.send_event(file_event(evil))
    alice.told("I can only read videos shared in Slack itself")


def test_a_clapper_on_a_video_starts_a_restyle_for_whoever_reacted(slack, start_app, alice, bob, clip):
    services = start_app(channel_pictures="mention")
    shared = slack.share_file(CHANNEL, clip, user=ALICE, text="our street this morning")
    slack.react(shared, "clapper", user=BOB)
    root = slack.wait_until(
        lambda: next((m for m in roots(slack) if "asked for a video of the video" in m.text), None),
        what="the bot's thread for the 🎬",
    )
    assert RESTYLES in seen(bob.draft_card(root))
    assert services.store.get_session(CHANNEL, root.ts).owner == BOB


def test_a_video_posted_in_a_channel_without_a_mention_is_left_alone(slack, start_app, alice, clip):
    services = start_app(channel_pictures="mention")
    shared = slack.share_file(CHANNEL, clip, user=ALICE, text="our street this morning")
    settle()
    assert [m.ts for m in slack.thread(CHANNEL, shared.ts)] == [shared.ts]
    assert services.store.get_session(CHANNEL, shared.ts) is None


def test_a_portrait_phone_video_is_restyled_upright(slack, videobot, alice, clip, tmp_path):
    # Phones store portrait video as landscape frames turned a quarter by the container's matrix.
    portrait = tmp_path / "portrait.mp4"
    subprocess.run(
        [
            ffmpeg_exe(),
            "-loglevel",
            "error",
            "-display_rotation",
            "90",
            "-i",
            str(clip),
            "-c",
            "copy",
            str(portrait),
        ],
        check=True,
        timeout=60,
    )
    shared = slack.share_file(CHANNEL, portrait, user=ALICE)
    assert "128×192" in seen(alice.draft_card(shared.ts))  # the tiny model's portrait size


def test_settings_on_a_restyle_offer_the_models_that_restyle_and_keep_the_video(slack, videobot, alice, clip):
    shared = slack.share_file(CHANNEL, clip, user=ALICE)
    card = alice.draft_card(shared.ts)
    alice.click(card, OPEN_SETTINGS)
    view = slack.wait_until(lambda: next((v for v in slack.views if v.open), None), what="the settings modal")
    models = next(b for b in view.view["blocks"] if b.get("block_id") == "model")["element"]["options"]
    assert {option["value"] for option in models} == {"tiny", "tiny-wan"}  # the offline models that restyle
    slack.submit_view(view.id, {"seed": {"seed": "7"}}, user=ALICE)
    updated = alice.draft_card(shared.ts, revision=2)
    assert "seed 7" in seen(updated) and RESTYLES in seen(updated)


def test_a_video_cut_off_before_its_header_is_refused(slack, videobot, alice, clip, tmp_path):
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[:40])  # the upload stopped early: no header to read
    slack.share_file(CHANNEL, cut, user=ALICE)
    assert "Please share it again." in alice.told("damaged or cut off")
