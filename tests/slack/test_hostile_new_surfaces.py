"""The morning's new surfaces, attacked through the real entry points (signed requests to the real Bolt
app through the stand-in): pictures shared with someone else mentioned, a 🎬 on a picture in a thread,
and events whose envelope doesn't name the bot. Each test names what people get."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import pytest
from PIL import Image

from bot.conversation.sessions import Job
from bot.slack.blocks import EXTEND_VIDEO
from localslack import render_blocks
from processing_job.spec import JobSpec
from tests.conftest import ADMIN, ALICE, BOB, CHANNEL, limits, roots, seen, settle
from tests.processing_job.clips import h264_output_args, make_clip
from tests.slack.slack_payloads import load_payload
from tests.slack.test_slack_payload_shapes import send_interaction

BOT = "UVIDEOBOT"  # the stand-in's bot user


@pytest.fixture
def picture(tmp_path) -> Path:
    path = tmp_path / "holiday.png"
    Image.new("RGB", (320, 200), (200, 120, 40)).save(path)
    return path


@pytest.fixture
def videobot(start_app):
    """The product's default: in a channel, pictures are for the bot only when it is asked."""
    return start_app(channel_pictures="mention", admins=frozenset({ADMIN}))


def test_a_picture_mentioning_someone_whose_id_starts_like_the_bots_is_not_for_the_bot(
    slack, videobot, alice, picture
):
    # Slack user ids have different lengths: U… of the bot can be the start of someone else's.
    shared = slack.share_file(CHANNEL, picture, user=ALICE, text=f"<@{BOT}2X> look at our holiday")
    settle()
    assert [m.ts for m in slack.thread(CHANNEL, shared.ts)] == [shared.ts]
    assert videobot.store.get_session(CHANNEL, shared.ts) is None


def test_a_clapper_on_a_picture_in_someone_elses_thread_starts_a_session_in_the_bots_own_thread(
    slack, videobot, alice, bob, picture
):
    talk = slack.say(CHANNEL, "holiday pictures, anyone?", user=BOB)
    shared = slack.share_file(CHANNEL, picture, user=ALICE, thread_ts=talk.ts, text="the waves roll in")
    assert slack.react(shared, "clapper", user=BOB).status == 200
    root = slack.wait_until(
        lambda: next((m for m in roots(slack) if "asked for a video of the picture" in m.text), None),
        what="the bot's thread for the 🎬",
    )
    assert "animates the shared picture" in seen(bob.draft_card(root))
    assert videobot.store.get_session(CHANNEL, root.ts).owner == BOB


def reply_event(root_ts: str, text: str, *, user: str, ts: str) -> dict:
    """A `message` event of `user` replying in the thread of `root_ts`, as Slack sends it."""
    return {
        "type": "message",
        "channel": CHANNEL,
        "channel_type": "channel",
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "thread_ts": root_ts,
        "parent_user_id": BOT,
    }


def test_a_reply_in_a_session_reaches_the_bot_when_slacks_envelope_names_another_installation(
    slack, videobot, alice
):
    # Slack lists one installation that can see an event in `authorizations`; it need not be the bot's.
    root = alice.video("a fox in the snow")
    alice.draft_card(root)
    event = reply_event(root.ts, "make it night", user=ALICE, ts=f"{float(root.ts) + 5:.6f}")
    envelope = {
        "token": slack.verification_token,
        "team_id": slack.workspace.team_id,
        "api_app_id": slack.workspace.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": "EvOTHERINSTALL1",
        "event_time": 1700000000,
        "authorizations": [{"team_id": slack.workspace.team_id, "user_id": ALICE, "is_bot": False}],
    }
    answer = slack.signed_post(json.dumps(envelope).encode(), "application/json", kind="event_callback")
    assert answer.status == 200
    assert "night" in seen(alice.draft_card(root, revision=2)).lower()


def test_my_home_still_opens_when_a_video_of_mine_was_made_by_a_model_since_retired(slack, videobot):
    # A model renamed or removed in a later release: its old videos are still listed.
    spec = JobSpec.create(job_id="old-render", model="tiny", prompt="a lighthouse in a storm", seed=3)
    retired = {**spec.to_dict(), "model": "retired-model-v0"}
    now = time.time()
    videobot.store.create_job(
        Job("old-render", CHANNEL, "1700000000.000100", ALICE, retired, now, now, status="delivered")
    )
    slack.open_home(ALICE)
    home = slack.wait_until(lambda: slack.home(ALICE), what="Alice's Home tab")
    assert "a lighthouse in a storm" in "\n".join(render_blocks(home.view["blocks"], {}))


# shared videos with hostile or unusual headers


def box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def movie_with_a_cut_off_track_header() -> bytes:
    """An MP4 whose track header (`tkhd`) stops after 4 bytes: its size would be read from the boxes
    after it."""
    media_header = box(b"mdhd", bytes(12) + struct.pack(">II", 1000, 2000) + bytes(4))
    handler = box(b"hdlr", bytes(8) + b"vide" + bytes(12))
    sample_sizes = box(b"stsz", bytes(8) + struct.pack(">I", 48))
    media = box(b"mdia", media_header + handler + box(b"minf", box(b"stbl", sample_sizes)))
    track = box(b"trak", box(b"tkhd", bytes(4)) + media)
    return box(b"ftyp", b"isom" + bytes(4) + b"isom") + box(b"moov", track)


def test_a_video_whose_track_header_is_cut_off_is_called_damaged_not_measured(
    slack, videobot, alice, tmp_path
):
    clip = tmp_path / "cut.mp4"
    clip.write_bytes(movie_with_a_cut_off_track_header())
    slack.share_file(slack.dm_channel(ALICE), clip, user=ALICE)
    assert alice.told("🎞️").startswith("🎞️ The video seems to be damaged or cut off")


def test_a_streaming_mp4_is_explained_rather_than_called_empty(slack, videobot, alice, tmp_path):
    # Browsers' recorders write fragmented MP4: the header lists no frames, the fragments after it do.
    clip = make_clip(
        tmp_path / "recording.mp4",
        frames=17,
        codec=[*h264_output_args(), "-movflags", "frag_keyframe+empty_moov+default_base_moof"],
    )
    slack.share_file(slack.dm_channel(ALICE), clip, user=ALICE)
    assert "fragmented" in alice.told("🎞️")


def test_a_clapper_from_someone_not_allowed_to_make_videos_is_told_why(slack, start_app, alice, bob, picture):
    services = start_app(channel_pictures="mention", limits=limits(allowed_users=frozenset({ALICE})))
    shared = slack.share_file(CHANNEL, picture, user=ALICE, text="the waves roll in")
    slack.react(shared, "clapper", user=BOB)
    assert "isn't open to you in this workspace yet" in bob.told("isn't open to you")
    assert not [m for m in roots(slack) if "asked for a video" in m.text]
    assert services.store.get_session(CHANNEL, shared.ts) is None


def test_a_button_under_a_video_whose_conversation_expired_says_so(slack, videobot, alice):
    # Sessions are kept 30 days from their last change, jobs 30 days from theirs (the Home tab's poster
    # is a change): the buttons under an old video can outlive its conversation.
    spec = JobSpec.create(job_id="old-render", model="tiny", prompt="a lighthouse in a storm", seed=3)
    now = time.time()
    videobot.store.create_job(
        Job("old-render", CHANNEL, "1700000000.000100", ALICE, spec.to_dict(), now, now, status="delivered")
    )
    payload = load_payload(
        "block_actions_ephemeral",
        user=ALICE,
        team_id=slack.workspace.team_id,
        app_id=slack.workspace.app_id,
        message_ts="1700000000.000200",
        channel=CHANNEL,
        trigger_id=slack.trigger_id(ALICE),
        response_url=f"{slack.base_url}response",
        action_id=EXTEND_VIDEO,
        value=json.dumps({"job_id": "old-render"}),
    )
    assert send_interaction(slack, payload).status == 200
    assert "Start a new video with `/video`" in alice.told("conversation any more")


def test_a_clapper_on_a_picture_an_app_posted_names_no_empty_mention():
    from bot.slack.blocks import reacted_root_message

    text, _ = reacted_root_message("UBOB", "", video=False)
    assert "<@>" not in text
    assert text == "🎬 <@UBOB> asked for a video of a picture shared here"
