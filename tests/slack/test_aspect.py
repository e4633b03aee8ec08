"""The video's shape: taken from a picture where the model allows it, `--aspect 16:9|9:16|1:1` for words,
a Shape select in Settings; when the model can't keep the picture's shape, the card says how much is
cut. The render uses the chosen size (the mp4 is that shape)."""

from __future__ import annotations

import imageio_ffmpeg
import pytest
from PIL import Image

from bot.slack.blocks import ASPECT_INPUT, GENERATE, OPEN_SETTINGS
from tests.conftest import ALICE, CHANNEL, FAST, limits, seen, video_in_thread


def picture(tmp_path, width, height):
    path = tmp_path / f"phone-{width}x{height}.png"
    Image.new("RGB", (width, height), (200, 120, 40)).save(path)
    return path


def frame_size(video) -> tuple[int, int]:
    """(width, height) of the mp4 Slack received."""
    frames = imageio_ffmpeg.read_frames(str(video.path))
    meta = next(frames)
    frames.close()
    return tuple(meta["size"])


def open_settings(slack, person, card):
    person.click(card, OPEN_SETTINGS)
    return slack.wait_until(
        lambda: next((v for v in slack.views if v.open and v.user == person.user), None), what="the modal"
    )


def test_a_portrait_picture_renders_a_portrait_video_with_a_model_that_allows_it(
    slack, start_app, alice, tmp_path
):
    start_app(default_model="tiny-1.5", limits=limits(max_seconds=1.0))
    shared = slack.share_file(CHANNEL, picture(tmp_path, 480, 800), user=ALICE)
    card = alice.draft_card(shared.ts)
    assert "96×160" in seen(card) and "cropped" not in seen(card)
    alice.click(card, GENERATE)
    assert frame_size(video_in_thread(slack, shared.ts)) == (96, 160)


def test_a_model_that_renders_landscape_only_says_how_much_of_a_portrait_picture_is_cut(
    slack, videobot, alice, tmp_path
):
    shared = slack.share_file(CHANNEL, picture(tmp_path, 600, 800), user=ALICE)
    card = alice.draft_card(shared.ts)
    assert "192×128" in seen(card)
    assert "The picture is cropped to 3:2: 50% of its height is cut." in seen(card)


def test_aspect_9_16_renders_words_as_a_portrait_video(slack, videobot, alice):
    root = alice.video(f"a lighthouse at night {FAST} --aspect 9:16")
    card = alice.draft_card(root)
    assert "128×192" in seen(card)
    alice.click(card, GENERATE)
    assert frame_size(video_in_thread(slack, root)) == (128, 192)


@pytest.mark.parametrize(
    ("flags", "answer"),
    [
        ("--model 5b --aspect 9:16", "CogVideoX-5B renders landscape (720×480) only, not portrait (9:16)."),
        (
            "--aspect 4:3",
            "`--aspect` is one of `16:9` (landscape), `9:16` (portrait), `1:1` (square), not `4:3`.",
        ),
        ("--aspect 1:1", "renders landscape (192×128) and portrait (128×192) only, not square (1:1)."),
    ],
)
def test_a_shape_the_model_cant_render_is_refused_with_the_shapes_it_can(
    slack, videobot, alice, flags, answer
):
    assert slack.slash_command("/video", f"a fox {flags}", user=ALICE, channel=CHANNEL).status == 200
    alice.told(answer)


def test_settings_offers_the_models_shapes_and_a_chosen_one_replaces_the_pictures(
    slack, start_app, alice, tmp_path
):
    start_app(default_model="tiny-1.5")
    shared = slack.share_file(CHANNEL, picture(tmp_path, 480, 800), user=ALICE)
    view = open_settings(slack, alice, alice.draft_card(shared.ts))
    shape = next(b for b in view.view["blocks"] if b.get("block_id") == ASPECT_INPUT[0])
    labels = [o["text"]["text"] for o in shape["element"]["options"]]
    assert labels == [
        "Closest to the picture (96×160 now)",
        "Landscape 16:9 (160×96)",
        "Portrait 9:16 (96×160)",
    ]
    slack.submit_view(view.id, {ASPECT_INPUT[0]: {ASPECT_INPUT[1]: "16:9"}}, user=ALICE)
    card = alice.draft_card(shared.ts, revision=2)
    assert "160×96" in seen(card)
    assert "The picture is cropped to 5:3: 64% of its height is cut." in seen(card)
