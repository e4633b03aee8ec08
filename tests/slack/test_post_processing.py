"""Under a finished video: ⏩ Extend (the clip continued from its last frame and posted joined, with its
parts), 〰️ Smooth and 🔍 Upscale (the clip post-processed as a job of its own); and Smooth and Upscale as
settings for a new render. Through the real Bolt app, the stand-in and the local runner rendering the
tiny models."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.conversation.costs import Pricing, duration, money
from bot.runtime.compose import build_local_services
from bot.runtime.services import Services
from bot.runtime.settings import Settings
from bot.slack.app import build_app
from bot.slack.blocks import (
    EXTEND_VIDEO,
    FEEDBACK_UP,
    GENERATE,
    OPEN_SETTINGS,
    REFINE,
    REROLL,
    RETRY,
    SMOOTH_VIDEO,
    UPSCALE_VIDEO,
)
from localslack import Message, SlackStandIn, UploadedFile
from localslack.local_server import LocalAppServer
from processing_job.export import probe_video
from tests.conftest import (
    ALICE,
    BOB,
    CHANNEL,
    FAST,
    SECRET,
    Person,
    limits,
    message_with,
    seen,
    video_in_thread,
)


def factors(message: Message, action_id: str) -> list[int]:
    """The factors a Smooth or Upscale choice under `message` offers."""
    element = next(el for _, el in message.elements() if el["action_id"] == action_id)
    return [json.loads(option["value"])["factor"] for option in element["options"]]


def pick(person: Person, message: Message, action_id: str, factor: int) -> None:
    """`person` picks `factor` from the Smooth or Upscale choice under `message`."""
    element = next(el for _, el in message.elements() if el["action_id"] == action_id)
    value = next(o["value"] for o in element["options"] if json.loads(o["value"])["factor"] == factor)
    assert person.slack.click(message, action_id, user=person.user, value=value).status == 200


def video_captioned(slack: SlackStandIn, root: Message, words: str, timeout: float = 120) -> UploadedFile:
    """The video posted in the thread of `root` whose caption has `words`."""
    return slack.wait_until(
        lambda: next(
            (
                f
                for f in slack.files
                if f.thread_ts == root.ts and f.name == "video.mp4" and words in (f.initial_comment or "")
            ),
            None,
        ),
        timeout=timeout,
        what=f"a video captioned {words!r}",
    )


def result_under(slack: SlackStandIn, video: UploadedFile) -> Message:
    """The result message (✅ Done, and its buttons) right under `video`."""

    def find() -> Message | None:
        thread = slack.thread(CHANNEL, video.thread_ts)
        after = [m for m in thread if float(m.ts) > float(video.message_ts or 0)]
        return next((m for m in after if FEEDBACK_UP in m.action_ids()), None)  # the controls under it

    return slack.wait_until(find, what="the result under the video")


def job_ids(services: Services, root: Message) -> tuple[str, ...]:
    return services.store.get_session(CHANNEL, root.ts).job_ids


@dataclass
class Rendered:
    """Alice's thread with one finished 9-frame render, shared by this module's tests."""

    slack: SlackStandIn
    services: Services
    alice: Person
    bob: Person
    root: Message
    result: Message


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, model_cache) -> Iterator[Rendered]:
    home = tmp_path_factory.mktemp("post-processing")
    with SlackStandIn(
        signing_secret=SECRET,
        files_dir=home / "slack-files",
        users={ALICE: "alice", BOB: "bob"},
        channels={CHANNEL: "videos"},
    ) as slack:
        settings = Settings(
            slack_bot_token=slack.bot_token,
            slack_signing_secret=SECRET,
            slack_api_url=slack.api_url,
            home=home / "home",
            model_cache=model_cache,
        )
        services = build_local_services(settings)
        server = LocalAppServer(build_app(services)).start()
        slack.connect_app(server.url)
        alice = Person(slack, ALICE)
        root = alice.video(f"a fox at sunset {FAST} --seed 7")
        alice.click(alice.draft_card(root), GENERATE)
        result = result_under(slack, video_in_thread(slack, root))
        try:
            yield Rendered(slack, services, alice, Person(slack, BOB), root, result)
        finally:
            server.stop()
            services.close()


@pytest.fixture(scope="module")
def extended(rendered: Rendered) -> UploadedFile:
    """Alice replied "make it night" after the render, then pressed ⏩ Extend under it."""
    alice = rendered.alice
    alice.reply(rendered.root, "make it night")
    alice.draft_card(rendered.root, revision=2)
    alice.click(rendered.result, EXTEND_VIDEO)
    return video_captioned(rendered.slack, rendered.root, "extended")


@pytest.fixture(scope="module")
def smoothed(rendered: Rendered) -> UploadedFile:
    """Alice picked 〰️ Smooth 2× under the render."""
    pick(rendered.alice, rendered.result, SMOOTH_VIDEO, 2)
    return video_captioned(rendered.slack, rendered.root, "smoothed 2×")


# the result's choices


def test_a_finished_video_offers_extend_smooth_and_upscale_under_it(rendered):
    result = rendered.result
    assert result.action_ids()[:-2] == [REROLL, REFINE, EXTEND_VIDEO, SMOOTH_VIDEO, UPSCALE_VIDEO]
    assert factors(result, SMOOTH_VIDEO) == [2, 3]
    assert factors(result, UPSCALE_VIDEO) == [2, 4]  # 192×128 ×4 is 768×512: Slack plays it
    assert "*Extend* continues the clip" in seen(result)


# extend


def test_extend_posts_the_clip_and_its_continuation_joined_with_the_parts_listed(rendered, extended):
    assert probe_video(extended.path).frames == 9 + 9 - 1  # the seam's repeated frame is dropped
    assert "Part 1 · 1.1 s, Part 2 · 1 s" in extended.initial_comment
    assert "17 frames" in extended.initial_comment


def test_extend_continues_with_the_refined_prompt_when_the_owner_replied_since(rendered, extended):
    assert "here is your video, extended." in extended.initial_comment
    assert "It is night" in extended.initial_comment


def test_an_extended_video_can_be_extended_again_but_not_rerolled(rendered, extended):
    assert result_under(rendered.slack, extended).action_ids()[:-2] == [
        EXTEND_VIDEO,
        SMOOTH_VIDEO,
        UPSCALE_VIDEO,
    ]


# smooth and upscale


def test_smooth_posts_the_clip_with_twice_the_frames_at_the_same_length(smoothed):
    facts = probe_video(smoothed.path)
    assert (facts.frames, facts.fps, facts.width, facts.height) == (18, 16, 192, 128)
    assert "18 frames at 16 fps" in smoothed.initial_comment


def test_smoothing_shows_its_own_progress_until_the_video_is_in(rendered, smoothed):
    said = [
        text
        for m in rendered.slack.workspace.messages(CHANNEL, include_deleted=True)
        if m.thread_ts == rendered.root.ts
        for text in (m.text, *(earlier for earlier, _ in m.history))
    ]
    assert any(text.startswith("〰️ Smoothing 2×…") for text in said)


def test_a_smoothed_video_offers_only_to_be_upscaled(rendered, smoothed):
    assert result_under(rendered.slack, smoothed).action_ids()[:-2] == [UPSCALE_VIDEO]


def test_upscale_posts_the_clip_at_twice_its_size(rendered):
    pick(rendered.alice, rendered.result, UPSCALE_VIDEO, 2)
    video = video_captioned(rendered.slack, rendered.root, "upscaled ×2")
    facts = probe_video(video.path)
    assert (facts.frames, facts.width, facts.height) == (9, 384, 256)
    assert (facts.codec, facts.pix_fmt, facts.faststart) == ("h264", "yuv420p", True)


def test_a_video_no_longer_stored_is_explained_and_starts_nothing(rendered, smoothed):
    result = result_under(rendered.slack, smoothed)
    job_id = json.loads(result.elements()[0][1]["options"][0]["value"])["job_id"]
    rendered.services.blobs.path(f"renders/{job_id}/video.mp4").unlink()
    before = job_ids(rendered.services, rendered.root)
    pick(rendered.alice, result, UPSCALE_VIDEO, 2)
    assert rendered.alice.told("no longer stored").startswith("That video is no longer stored")
    assert job_ids(rendered.services, rendered.root) == before


# who may, and how often


def test_only_the_owner_can_extend_smooth_or_upscale(rendered):
    before = job_ids(rendered.services, rendered.root)
    rendered.bob.click(rendered.result, EXTEND_VIDEO)
    pick(rendered.bob, rendered.result, UPSCALE_VIDEO, 4)
    assert "Only <@UALICE>, who started this video, can do that." in rendered.bob.told("Only <@UALICE>")
    assert job_ids(rendered.services, rendered.root) == before


def test_picking_the_same_smoothing_twice_starts_one_job(rendered):
    pick(rendered.alice, rendered.result, SMOOTH_VIDEO, 3)
    pick(rendered.alice, rendered.result, SMOOTH_VIDEO, 3)
    rendered.alice.told("already on its way")
    video_captioned(rendered.slack, rendered.root, "smoothed 3×")
    assert [j for j in job_ids(rendered.services, rendered.root) if j.endswith("-s3")] == [
        f"{rendered.result.channel}-{rendered.root.ts.replace('.', '')}-r1-s3".lower()
    ]


# limits


def test_an_extension_past_the_models_longest_clip_is_refused_with_a_sentence(slack, videobot, alice):
    # tiny Wan extends clips to 3 s: 33 frames at 24 fps (1.4 s), extended by 1.3 s, is 2.7 s.
    root = alice.video("a fox --model tiny-wan --frames 33 --steps 2")
    alice.click(alice.draft_card(root), GENERATE)
    alice.click(result_under(slack, video_in_thread(slack, root)), EXTEND_VIDEO)
    once = video_captioned(slack, root, "extended")
    assert probe_video(once.path).frames == 33 + 33 - 1
    alice.click(result_under(slack, once), EXTEND_VIDEO)
    assert alice.told("extends clips to") == (
        "⚠️ This clip is 2.7 s long: another 1.3 s would make it 4.0 s, and tiny Wan (random weights, "
        "offline test model) extends clips to 3 s at most. Start a new video for the next scene."
    )
    assert len(videobot.store.get_session(CHANNEL, root.ts).job_ids) == 2


def test_an_extension_counts_against_the_daily_quota_like_a_render(slack, start_app, alice):
    services = start_app(limits=limits(per_user_daily=1))
    root = alice.video(f"a fox {FAST}")
    alice.click(alice.draft_card(root), GENERATE)
    alice.click(result_under(slack, video_in_thread(slack, root)), EXTEND_VIDEO)
    assert "daily limit" in alice.told("daily limit")
    assert len(services.store.get_session(CHANNEL, root.ts).job_ids) == 1


def test_a_post_processing_that_fails_is_explained_and_offers_to_try_it_again(slack, videobot, alice):
    root = alice.video(f"a fox {FAST}")
    alice.click(alice.draft_card(root), GENERATE)
    result = result_under(slack, video_in_thread(slack, root))
    (job_id,) = job_ids(videobot, root)
    videobot.blobs.put(f"renders/{job_id}/video.mp4", b"not a video any more")  # damaged in storage
    pick(alice, result, SMOOTH_VIDEO, 2)
    failure = message_with(slack, root, RETRY)
    assert "didn't finish: I couldn't open that file as a video." in failure.text
    assert failure.action_ids() == [RETRY]  # nothing to refine: it had no draft of its own
    alice.click(failure, RETRY)
    slack.wait_until(
        lambda: sum("didn't finish" in m.text for m in slack.thread(CHANNEL, root.ts)) == 2,
        timeout=60,
        what="the second try's explanation",
    )
    assert job_ids(videobot, root)[1:] == (f"{job_id}-s2", f"{job_id}-s2-t")


# what it took


def test_every_result_shows_the_gpu_time_it_really_took(rendered, smoothed):
    for result in (rendered.result, result_under(rendered.slack, smoothed)):
        assert re.search(r"⏱️ It took \d+ s on this machine\.", seen(result))


def test_video_status_sums_the_gpu_time_and_money_of_my_day(slack, start_app, alice):
    services = start_app(pricing=Pricing(local=False, instances={"tiny": "ml.g5.2xlarge"}))
    root = alice.video(f"a fox {FAST}")
    alice.click(alice.draft_card(root), GENERATE)
    result = result_under(slack, video_in_thread(slack, root))
    assert re.search(r"⏱️ It took \d+ s on ml\.g5\.2xlarge, (about \$0\.\d\d|under \$0\.01)\.", seen(result))
    pick(alice, result, UPSCALE_VIDEO, 2)
    video_captioned(slack, root, "upscaled ×2")
    jobs = [services.store.get_job(job_id) for job_id in job_ids(services, root)]
    seconds = sum(job.finished_at - job.launched_at for job in jobs)
    slack.slash_command("/video", "status", user=ALICE, channel=CHANNEL)
    status = alice.told("GPU time in the last 24 hours")
    day = f"*GPU time in the last 24 hours:* {duration(seconds)}, about {money(seconds / 3600 * 1.515)}"
    assert day in status


# as settings for a new render


def open_settings(slack, person, card):
    before = {v.id for v in slack.views}
    person.click(card, OPEN_SETTINGS)
    return slack.wait_until(
        lambda: next((v for v in slack.views if v.id not in before and v.user == person.user), None),
        what="the modal",
    )


def choices(view, block_id: str) -> list[str]:
    block = next(b for b in view.view["blocks"] if b.get("block_id") == block_id)
    return [option["text"]["text"] for option in block["element"]["options"]]


def test_settings_offer_smoothing_and_upscaling_as_far_as_slack_plays_the_video(slack, videobot, alice):
    tiny = open_settings(slack, alice, alice.draft_card(alice.video("a fox")))
    assert choices(tiny, "smooth") == ["None", "2× the frames", "3× the frames"]
    assert choices(tiny, "upscale") == ["None", "×2", "×4"]
    # CogVideoX 1.5 renders 1360×768: ×4 would be 5440 pixels wide.
    wide = open_settings(slack, alice, alice.draft_card(alice.video("a fox --model 1.5")))
    assert choices(wide, "upscale") == ["None", "×2"]


def test_an_upscale_too_large_for_slack_is_refused_under_its_input(slack, videobot, alice):
    root = alice.video("a fox --model 5b")
    card = alice.draft_card(root)
    view = open_settings(slack, alice, card)
    slack.submit_view(
        view.id, {"model": {"model": "cogvideox1.5-5b"}, "upscale": {"upscale": "4"}}, user=alice.user
    )
    shown = slack.view(view.id)
    assert shown.open and shown.errors["upscale"] == (
        "Upscaling 1360×768 ×4 would make it 5440×3072, larger than Slack plays (3840 pixels a side); "
        "choose ×2."
    )
    assert slack.message(CHANNEL, card.ts).text == card.text


def test_a_render_with_smoothing_and_upscaling_set_posts_the_processed_video(slack, videobot, alice):
    root = alice.video(f"a fox {FAST}")
    view = open_settings(slack, alice, alice.draft_card(root))
    slack.submit_view(view.id, {"smooth": {"interpolate": "2"}, "upscale": {"upscale": "2"}}, user=alice.user)
    card = alice.draft_card(root, revision=2)
    assert "smoothed 2× · upscaled ×2" in seen(card)
    alice.click(card, GENERATE)
    video = video_in_thread(slack, root)
    facts = probe_video(video.path)
    assert (facts.frames, facts.fps, facts.width, facts.height) == (18, 16, 384, 256)
    assert "18 frames · 384×256" in video.initial_comment
    assert message_with(slack, root, REROLL).action_ids()[:-2] == [REROLL, REFINE]
