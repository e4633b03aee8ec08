"""Pictures shared with the bot become image-to-video sessions; only Slack's files are read, and bad
files get a polite answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from bot.slack.blocks import GENERATE
from localslack import URL_PRIVATE
from tests.conftest import ALICE, BOB, CHANNEL, file_event, limits, seen, settle, video_in_thread


@pytest.fixture
def picture(tmp_path) -> Path:
    path = tmp_path / "harbour.png"
    Image.new("RGB", (320, 200), (30, 90, 160)).save(path)
    return path


def test_a_picture_in_a_channel_gets_an_image_to_video_draft_in_its_thread(slack, videobot, alice, picture):
    shared = slack.share_file(CHANNEL, picture, user=ALICE, text="the waves roll in")
    card = alice.draft_card(shared.ts)
    assert "animates the shared picture" in seen(card) and "image-to-video" in seen(card)
    assert "The scene in the picture comes to life" in seen(card) and "The waves roll in." in seen(card)
    assert any("Got your picture, <@UALICE>" in m.text for m in slack.thread(CHANNEL, shared.ts))
    session = videobot.store.get_session(CHANNEL, shared.ts)
    assert session.mode == "i2v" and videobot.blobs.exists(session.image_key)
    assert videobot.blobs.open(session.image_key).read() == picture.read_bytes()


def test_generate_animates_the_picture(slack, start_app, alice, picture):
    start_app(limits=limits(max_seconds=1.0))  # the shortest clip keeps the render quick
    shared = slack.share_file(CHANNEL, picture, user=ALICE)
    alice.click(alice.draft_card(shared.ts), GENERATE)
    video = video_in_thread(slack, shared.ts)
    assert "here is your video" in video.initial_comment and "image-to-video" in video.initial_comment
    assert video.alt_txt.startswith("AI video animated from a shared picture: The scene in the picture")


def test_a_picture_in_a_sessions_thread_switches_it_to_that_picture(slack, videobot, alice, picture):
    root = alice.video("a harbour at dawn")
    alice.draft_card(root)
    slack.share_file(CHANNEL, picture, user=ALICE, thread_ts=root.ts, text="make the boats bob gently")
    card = alice.draft_card(root, revision=2)
    assert "animates the shared picture" in seen(card) and "make the boats bob gently".capitalize() in seen(
        card
    )
    assert videobot.store.get_session(CHANNEL, root.ts).mode == "i2v"


def test_a_picture_shared_in_a_direct_message_starts_a_session_there(slack, videobot, alice, picture):
    dm = slack.dm_channel(ALICE)
    shared = slack.share_file(dm, picture, user=ALICE)
    card = alice.draft_card(shared.ts, channel=dm)
    assert "animates the shared picture" in seen(card)


def test_only_the_owner_can_change_a_sessions_picture(slack, videobot, alice, bob, picture):
    root = alice.video("a harbour at dawn")
    alice.draft_card(root)
    slack.share_file(CHANNEL, picture, user=BOB, thread_ts=root.ts)
    bob.told("Only <@UALICE>")
    assert videobot.store.get_session(CHANNEL, root.ts).mode == "t2v"


def test_a_picture_in_someone_elses_thread_is_left_alone(slack, videobot, alice, picture):
    chatter = slack.say(CHANNEL, "look at this", user=BOB)
    slack.share_file(CHANNEL, picture, user=ALICE, thread_ts=chatter.ts)
    settle()
    assert [m.user for m in slack.thread(CHANNEL, chatter.ts)] == [BOB, ALICE]


def test_files_that_arent_pictures_are_ignored(slack, videobot, alice, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("meeting notes")
    shared = slack.share_file(CHANNEL, notes, user=ALICE)
    settle()
    assert videobot.store.get_session(CHANNEL, shared.ts) is None
    assert slack.thread(CHANNEL, shared.ts)[1:] == []


def test_a_picture_too_large_is_refused_before_download(slack, start_app, alice, picture):
    start_app(limits=limits(max_image_bytes=100))
    shared = slack.share_file(CHANNEL, picture, user=ALICE)
    note = alice.told("I can take pictures up to")
    assert "Please share a smaller one." in note
    assert [m for m in slack.thread(CHANNEL, shared.ts) if m.user != ALICE and not m.ephemeral_to] == []


def test_a_picture_type_we_cant_use_gets_a_polite_answer(slack, videobot, alice, tmp_path):
    bitmap = tmp_path / "scan.bmp"
    Image.new("RGB", (64, 64)).save(bitmap)
    slack.share_file(CHANNEL, bitmap, user=ALICE)
    assert "I can animate JPEG, PNG, WebP or GIF pictures" in alice.told("I can animate")


def test_a_file_pretending_to_be_a_picture_is_refused_after_a_look_at_its_bytes(
    slack, videobot, alice, tmp_path
):
    fake = tmp_path / "holiday.png"
    fake.write_bytes(b"this is not a picture at all" * 10)
    slack.share_file(CHANNEL, fake, user=ALICE)
    alice.told("I couldn't open that file as a picture")


def test_too_many_pixels_are_refused(slack, start_app, alice, tmp_path):
    start_app(limits=limits(max_image_pixels=10_000))
    big = tmp_path / "big.png"
    Image.new("RGB", (200, 200)).save(big)
    slack.share_file(CHANNEL, big, user=ALICE)
    alice.told("megapixels")


def test_a_file_hosted_outside_slack_is_never_fetched(slack, videobot, alice):
    evil = {
        "id": "F0EVIL",
        "name": "cat.png",
        "mimetype": "image/png",
        "filetype": "png",
        "size": 1000,
        "url_private_download": "https://attacker.example/cat.png",
        "url_private": "https://attacker.example/cat.png",
    }
    slack.send_event(file_event(evil))
    alice.told("I can only read pictures shared in Slack itself")


def test_when_slack_wont_serve_the_file_the_person_is_told(slack, videobot, alice, picture):
    slack.inject(URL_PRIVATE, status=403)
    slack.share_file(CHANNEL, picture, user=ALICE)
    alice.told("I couldn't download that picture from Slack")


def test_a_picture_from_a_disallowed_channel_is_ignored_quietly(slack, start_app, alice, picture):
    services = start_app(limits=limits(allowed_channels=frozenset({"COTHER"})))
    shared = slack.share_file(CHANNEL, picture, user=ALICE)
    settle()
    assert services.store.get_session(CHANNEL, shared.ts) is None
    assert alice.ephemerals() == []


def test_words_shared_with_a_document_in_a_sessions_thread_still_refine_it(slack, videobot, alice, tmp_path):
    root = alice.video("a fox at sunset")
    alice.draft_card(root)
    notes = tmp_path / "storyboard.pdf"
    notes.write_bytes(b"%PDF-1.4 storyboard")
    slack.share_file(CHANNEL, notes, user=ALICE, thread_ts=root.ts, text="make it night")
    assert "It is night" in seen(alice.draft_card(root, revision=2))


def test_a_picture_event_with_only_a_stub_is_looked_up_in_slack(slack, videobot, alice, picture):
    shared = slack.share_file(CHANNEL, picture, user=ALICE)  # a full event: the baseline
    stub = {"id": shared.files[0].id, "mode": "hosted", "file_access": "check_file_info"}
    slack.send_event(file_event(stub, ts="1700000000.000200"))
    card = alice.draft_card("1700000000.000200")
    assert "animates the shared picture" in seen(card)
    assert slack.calls("files.info")
