"""`/video story`: a shot list on one card (edit, remove, move, continuity), Generate renders the shots
and joins them into one cut with crossfades, a line per shot on one progress message, and a failed shot
rendered again alone."""

from __future__ import annotations

import json

from bot.adapters.refiner import FallbackRefiner
from bot.adapters.refiner.bedrock import BedrockRefiner
from bot.adapters.refiner.offline import OfflineRefiner
from bot.conversation.quotas import counts_against_quota
from bot.slack.blocks import EXTEND_VIDEO, SMOOTH_VIDEO, UPSCALE_VIDEO, excerpt
from bot.slack.story_blocks import (
    STORY_CANCEL,
    STORY_CONTINUITY,
    STORY_DOWN,
    STORY_EDIT,
    STORY_GENERATE,
    STORY_REBUILD_CUT,
    STORY_REMOVE,
    STORY_RETRY_SHOT,
)
from processing_job.export import probe_video
from tests.conftest import ALICE, CHANNEL, limits, seen, thread_text
from tests.fakes.bedrock import FakeBedrock, Reply

FAST = "--frames 9"
CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def claude_on(bedrock):
    """Claude through the local Converse server, falling back to the offline refiner as deployed."""
    return FallbackRefiner(BedrockRefiner(bedrock.client(), CLAUDE, backoff_s=0.001), OfflineRefiner())


def story(slack, person, text):
    """`/video story text`; returns (root, the storyboard card)."""
    root = person.video(f"story {text}")
    card = slack.wait_until(
        lambda: next((m for m in slack.thread(CHANNEL, root.ts) if STORY_GENERATE in m.action_ids()), None),
        what="the storyboard card",
    )
    return root, card


def current(slack, message):
    return next(m for m in slack.thread(CHANNEL, message.thread_ts or message.ts) if m.ts == message.ts)


def continuity_on(slack, card):
    slack.wait_until(lambda: "Continuity: each shot" in seen(current(slack, card)), what="continuity on")


def shot_lines(slack, root):
    """The progress message's lines, one per shot."""
    progress = progress_message(slack, root)
    return [line for line in seen(progress).splitlines() if line[:2] in {f"{n}." for n in range(1, 9)}]


def progress_message(slack, root):
    return slack.wait_until(
        lambda: next((m for m in slack.thread(CHANNEL, root.ts) if "shots done" in m.text), None),
        what="the storyboard's progress",
    )


def cut_in_thread(slack, root, count=1, timeout=180):
    return slack.wait_until(
        lambda: [f for f in slack.files if f.thread_ts == root.ts and f.name == "storyboard.mp4"][count - 1],
        timeout=timeout,
        what=f"cut {count} in the thread",
    )


def test_a_storyboard_card_numbers_each_shot_with_its_title_prompt_and_buttons(slack, videobot, alice):
    _root, card = story(slack, alice, "a red fox running through snow at sunset --shots 3")
    shown = seen(card)
    assert "3 shots" in shown and "1. Establishing wide" in shown and "3. Closing wide" in shown
    assert "fox" in shown and "Shots render in parallel" in shown
    assert "⏱️ Expected: ≈ " in shown and "on this machine, shots in parallel then the join" in shown
    assert card.action_ids().count(STORY_EDIT) == 3 and card.action_ids().count(STORY_REMOVE) == 3
    assert STORY_CONTINUITY in card.action_ids()
    prompts = [b for b in card.blocks if b["type"] == "section" and b["text"]["type"] == "plain_text"]
    assert len(prompts) == 3  # people's and the model's words shown as plain text, never links


def test_shots_can_be_moved_removed_and_edited_in_a_modal(slack, videobot, alice):
    _root, card = story(slack, alice, "a red fox running through snow --shots 3")
    assert slack.click(card, STORY_DOWN, user=alice.user, block_id="shot-1").status == 200
    slack.wait_until(lambda: "1. Medium shot" in seen(current(slack, card)), what="shot 1 moved down")
    card = current(slack, card)
    assert "2. Establishing wide" in seen(card)
    slack.click(card, STORY_REMOVE, user=alice.user, block_id="shot-3")
    slack.wait_until(lambda: "2 shots" in seen(current(slack, card)), what="shot 3 removed")
    card = current(slack, card)
    slack.click(card, STORY_EDIT, user=alice.user, block_id="shot-2")
    view = slack.wait_until(lambda: next((v for v in slack.views if v.open), None), what="the shot editor")
    assert view.title == "Edit shot 2"
    slack.submit_view(
        view.id,
        {"shot_title": {"title": "Owl"}, "shot_prompt": {"prompt": "An owl watches from a pine."}},
        user=alice.user,
    )
    slack.wait_until(lambda: "2. Owl" in seen(current(slack, card)), what="the edited shot")
    assert "An owl watches from a pine." in seen(current(slack, card))


def test_continuity_makes_the_shots_render_one_after_another_and_the_card_says_so(slack, videobot, alice):
    _root, card = story(slack, alice, "a red fox --shots 2")
    alice.click(card, STORY_CONTINUITY)
    continuity_on(slack, card)
    assert "Render shots in parallel" in seen(current(slack, card))


def test_a_bad_shot_count_gets_a_sentence_and_starts_nothing(slack, videobot, alice):
    answer = slack.slash_command("/video", "story a fox --shots 12", user=alice.user, channel=CHANNEL)
    assert "`--shots` takes a whole number from 2 to 8, not `12`" in answer.body.decode()
    assert not slack.messages(CHANNEL)


def test_only_the_owner_can_change_or_generate_a_storyboard(slack, videobot, alice, bob):
    root, card = story(slack, alice, "a fox --shots 2")
    bob.click(card, STORY_GENERATE)
    bob.told("Only <@UALICE>")
    assert videobot.store.get_storyboard(CHANNEL, root.ts).generated is False


def test_generate_renders_the_shots_and_posts_one_cut_with_crossfades_and_the_shot_list(
    slack, videobot, alice
):
    root, card = story(slack, alice, f"a red fox running through snow --shots 2 {FAST}")
    alice.click(card, STORY_GENERATE)
    lines = slack.wait_until(lambda: shot_lines(slack, root) or None, what="a line per shot")
    assert len(lines) == 2 and lines[0].startswith("1. Establishing wide — ")
    cut = cut_in_thread(slack, root)
    # Two 9-frame shots at 8 fps with a 0.5 s (4-frame) crossfade: 9 + 9 - 4 frames.
    assert probe_video(cut.path).frames == 14
    assert "2 shots, with crossfades" in cut.initial_comment and "1. Establishing wide" in cut.initial_comment
    assert "⏱️ GPU time for the shots and the join: " in cut.initial_comment
    slack.wait_until(lambda: "The cut is below" in seen(progress_message(slack, root)), what="the cut noted")
    assert all(line.endswith("✅ done") for line in shot_lines(slack, root))
    transcript = thread_text(slack, root)
    assert "Shot list" in transcript and "started the render" in transcript


def test_a_failed_shot_keeps_the_others_and_rendered_again_alone_rebuilds_the_cut(slack, videobot, alice):
    root, card = story(slack, alice, f"a red fox running through snow --shots 2 {FAST}")
    alice.click(card, STORY_GENERATE)
    board = slack.wait_until(
        lambda: (b := videobot.store.get_storyboard(CHANNEL, root.ts)) and b.shots[1].job_id and b,
        what="shot 2 launched",
    )
    videobot.launcher.stop(board.shots[1].job_id)  # shot 2 ends without a video
    slack.wait_until(
        lambda: any(
            "2. Close-up — ❌ failed" in line or "— ❌ failed" in line for line in shot_lines(slack, root)
        ),
        timeout=120,
        what="shot 2's line says it failed",
    )
    slack.wait_until(lambda: shot_lines(slack, root)[0].endswith("✅ done"), timeout=120, what="shot 1 done")
    assert not [f for f in slack.files if f.thread_ts == root.ts]  # no cut without every shot
    first_shot = videobot.store.get_storyboard(CHANNEL, root.ts).shots[0].job_id
    alice.click(progress_message(slack, root), STORY_RETRY_SHOT)
    cut = cut_in_thread(slack, root)
    assert probe_video(cut.path).frames == 14
    board = videobot.store.get_storyboard(CHANNEL, root.ts)
    assert board.shots[0].job_id == first_shot  # shot 1 wasn't rendered again
    assert board.shots[1].job_id != board.shots[0].job_id and all(s.state == "done" for s in board.shots)


def test_claude_on_bedrock_writes_the_shot_list_through_the_storyboard_tool(slack, start_app, alice):
    shots = [
        {"title": "Dawn", "prompt": "A fox wakes in the snow."},
        {"title": "Dusk", "prompt": "A fox at dusk."},
    ]
    with FakeBedrock(default=Reply.tool({"shots": shots})) as bedrock:
        start_app(with_refiner=claude_on(bedrock))
        _root, card = story(slack, alice, "a fox's day --shots 2")
        assert bedrock.requests[0].body["toolConfig"]["toolChoice"] == {"tool": {"name": "write_storyboard"}}
    assert "1. Dawn\nA fox wakes in the snow." in seen(card) and "Written by Claude on Bedrock." in seen(card)


def test_a_storyboard_is_refused_when_its_shots_would_pass_the_daily_quota(slack, start_app, alice):
    services = start_app(limits=limits(per_user_daily=1))
    _root, card = story(slack, alice, "a fox --shots 2")
    alice.click(card, STORY_GENERATE)
    alice.told("A storyboard of 2 shots is 2 renders, and you have 1 left today")
    assert services.store.jobs_for_owner(ALICE) == []


def test_with_continuity_each_shot_continues_the_last_and_the_last_shots_video_is_the_cut(
    slack, videobot, alice
):
    root, card = story(slack, alice, f"a red fox running through snow --shots 2 {FAST}")
    alice.click(card, STORY_CONTINUITY)
    continuity_on(slack, card)
    alice.click(current(slack, card), STORY_GENERATE)
    lines = slack.wait_until(lambda: shot_lines(slack, root) or None, what="a line per shot")
    assert lines[1] == "2. Closing wide — ⏸️ waiting for the shot before it"
    cut = cut_in_thread(slack, root)
    # Shot 2 starts from shot 1's last frame (dropped at the seam): 9 + 8 frames, no crossfade.
    assert probe_video(cut.path).frames == 17
    assert "continuous, each shot from the last frame of the one before" in cut.initial_comment


def test_a_models_shot_titles_and_prompts_never_become_links_or_mentions(slack, start_app, alice):
    hostile = {"title": "<!here> see evil.example", "prompt": "[click](https://evil.example) <@UBOB>"}
    with FakeBedrock(default=Reply.tool({"shots": [hostile, hostile]})) as bedrock:
        start_app(with_refiner=claude_on(bedrock))
        _root, card = story(slack, alice, "a fox --shots 2")
    shots = [b for b in card.blocks if "evil" in json.dumps(b)]
    assert len(shots) == 2 and all(
        b["type"] == "section" and b["text"]["type"] == "plain_text" for b in shots
    )


def shot_list_message(slack, root):
    """The shot list posted under the cut, with what can follow the cut."""
    return slack.wait_until(
        lambda: next((m for m in slack.thread(CHANNEL, root.ts) if m.text.startswith("Shot list")), None),
        what="the shot list under the cut",
    )


def extension_in_thread(slack, root, timeout=180):
    return slack.wait_until(
        lambda: next((f for f in slack.files if f.thread_ts == root.ts and f.name == "video.mp4"), None),
        timeout=timeout,
        what="the extension in the thread",
    )


def test_the_cut_offers_extend_smooth_and_upscale_under_its_shot_list(slack, videobot, alice):
    root, card = story(slack, alice, f"a red fox running through snow --shots 2 {FAST}")
    alice.click(card, STORY_GENERATE)
    cut_in_thread(slack, root)
    shot_list = shot_list_message(slack, root)
    assert shot_list.action_ids() == [EXTEND_VIDEO, SMOOTH_VIDEO, UPSCALE_VIDEO]
    assert "*Extend* continues the cut from its last frame with the last shot's prompt" in seen(shot_list)


def test_extend_on_the_cut_continues_it_from_its_last_frame_with_the_last_shots_prompt(
    slack, videobot, alice
):
    root, card = story(slack, alice, f"a red fox running through snow --shots 2 {FAST}")
    alice.click(card, STORY_GENERATE)
    cut_in_thread(slack, root)
    last_prompt = videobot.store.get_storyboard(CHANNEL, root.ts).shots[-1].prompt
    alice.click(shot_list_message(slack, root), EXTEND_VIDEO)
    extension = extension_in_thread(slack, root)
    # The 14-frame cut and 9 more frames from its last one (the seam's repeated frame dropped).
    assert probe_video(extension.path).frames == 14 + 9 - 1
    assert "here is your video, extended." in extension.initial_comment
    assert "Part 1 · 1.8 s, Part 2 · 1 s" in extension.initial_comment
    assert excerpt(last_prompt)[:40] in extension.initial_comment


def test_cancel_stops_the_shots_still_to_come_keeps_those_done_and_gives_back_the_unstarted_quota(
    slack, videobot, alice
):
    root, card = story(slack, alice, f"a red fox running through snow --shots 3 {FAST}")
    alice.click(card, STORY_GENERATE)
    # Two shots at a time: when shot 1 is done, shot 2 renders and shot 3 waits its turn on the renderer.
    slack.wait_until(lambda: shot_lines(slack, root)[0].endswith("✅ done"), timeout=120, what="shot 1 done")
    progress = progress_message(slack, root)
    alice.click(progress, STORY_CANCEL)
    slack.wait_until(
        lambda: "🛑 Storyboard cancelled" in seen(progress_message(slack, root)), what="the cancel shown"
    )
    videobot.launcher.wait_idle(timeout=120)
    lines = shot_lines(slack, root)
    assert lines[0].endswith("✅ done") and lines[2].endswith("🛑 cancelled")
    shown = seen(progress_message(slack, root))
    assert "cancelled the storyboard: the shots done are kept" in shown
    assert STORY_CANCEL not in progress_message(slack, root).action_ids()
    board = videobot.store.get_storyboard(CHANNEL, root.ts)
    third = videobot.store.get_job(board.shots[2].job_id)
    assert third.status == "cancelled" and not counts_against_quota(third)  # it never reached the GPU
    assert videobot.store.get_job(board.shots[0].job_id).status == "delivered"
    assert board.cut_job_id is None and not [f for f in slack.files if f.thread_ts == root.ts]


def test_only_the_owner_can_cancel_a_storyboard(slack, videobot, alice, bob):
    root, card = story(slack, alice, f"a red fox --shots 2 {FAST}")
    alice.click(card, STORY_GENERATE)
    bob.click(progress_message(slack, root), STORY_CANCEL)
    bob.told("Only <@UALICE>")
    assert not videobot.store.get_storyboard(CHANNEL, root.ts).cancelled
    cut_in_thread(slack, root)


def test_a_failed_cut_offers_rebuild_and_rebuilding_joins_again_and_posts_the_cut(slack, videobot, alice):
    root, card = story(slack, alice, f"a red fox running through snow --shots 2 {FAST}")
    alice.click(card, STORY_GENERATE)
    board = slack.wait_until(
        lambda: (b := videobot.store.get_storyboard(CHANNEL, root.ts)) and b.cut_job_id and b,
        timeout=120,
        what="the join launched",
    )
    videobot.launcher.stop(board.cut_job_id)  # the join ends without a cut
    progress = slack.wait_until(
        lambda: (m := progress_message(slack, root)) and STORY_REBUILD_CUT in m.action_ids() and m,
        timeout=120,
        what="Rebuild the cut offered",
    )
    assert "❌ The cut didn't join" in seen(progress)
    assert not [f for f in slack.files if f.thread_ts == root.ts]
    alice.click(progress, STORY_REBUILD_CUT)
    cut = cut_in_thread(slack, root)
    assert probe_video(cut.path).frames == 14
    slack.wait_until(lambda: "The cut is below" in seen(progress_message(slack, root)), what="the cut noted")
    assert STORY_REBUILD_CUT not in progress_message(slack, root).action_ids()


def test_extend_on_the_cut_goes_on_with_the_prompt_refined_from_the_owners_reply_since(
    slack, videobot, alice
):
    root, card = story(slack, alice, f"a red fox running through snow --shots 2 {FAST}")
    alice.click(card, STORY_GENERATE)
    cut_in_thread(slack, root)
    shot_list = shot_list_message(slack, root)
    alice.reply(root, "make it night")
    alice.draft_card(root, revision=2)  # the thread is a session now: the reply refines the last shot
    alice.click(shot_list, EXTEND_VIDEO)
    extension = extension_in_thread(slack, root)
    assert "here is your video, extended." in extension.initial_comment
    assert "at night" in extension.initial_comment
