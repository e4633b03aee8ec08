"""A storyboard's rules (pure): shots move, go and change only before Generate and only on the card as
it is; continuity chains each shot from the last frame of the one before; the cut's frames are the
shots' frames less the crossfades."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.conversation.ports import Shot
from bot.conversation.sessions import ConversationError, DraftOptions, NotAllowed, new_draft
from bot.conversation.storyboards import (
    DONE,
    StoryboardChanged,
    crossfade_s,
    cut_spec,
    expected_cut_frames,
    move_shot,
    next_to_launch,
    remove_shot,
    shot_spec,
    start_storyboard,
    with_shot,
)

ME, NOBODY = "U1", frozenset()


def a_storyboard(shots=3, frames=9):
    settings = new_draft(
        DraftOptions(num_frames=frames), prompt="a fox", default_model="tiny", seed=1, refined_by=""
    )
    return start_storyboard(
        channel="C1",
        thread_ts="1.000001",
        owner=ME,
        idea="a fox",
        settings=settings,
        shots=tuple(Shot(f"Shot {n + 1}", f"A fox, shot {n + 1}.") for n in range(shots)),
        refined_by="the offline refiner",
        note="",
        now=0,
    )


def test_moving_a_shot_swaps_it_with_its_neighbour_and_makes_older_cards_stale():
    board = move_shot(a_storyboard(), 0, 1, user=ME, admins=NOBODY, revision=1, now=1)
    assert [s.title for s in board.shots] == ["Shot 2", "Shot 1", "Shot 3"] and board.revision == 2
    with pytest.raises(StoryboardChanged):
        remove_shot(board, 0, user=ME, admins=NOBODY, revision=1, now=2)


def test_a_storyboard_keeps_at_least_two_shots_and_only_its_owner_changes_it():
    with pytest.raises(ConversationError, match="at least 2 shots"):
        remove_shot(a_storyboard(2), 0, user=ME, admins=NOBODY, revision=1, now=1)
    with pytest.raises(NotAllowed):
        remove_shot(a_storyboard(), 0, user="U2", admins=NOBODY, revision=1, now=1)


def test_with_continuity_each_shot_extends_the_one_before_from_its_last_frame():
    board = replace(a_storyboard(2), continuity=True, generated=True)
    board = with_shot(board, 0, 1, state=DONE, job_id="shot-one")
    board = with_shot(board, 1, 1, state="waiting")
    spec, inputs = shot_spec(board, 1, "shot-two")
    assert (spec.mode, spec.video, spec.model, spec.prompt) == (
        "extend",
        "shot1.mp4",
        "tiny-i2v",
        "A fox, shot 2.",
    )
    assert inputs == {"shot1.mp4": "shot-one"}
    assert next_to_launch(board) == [1]
    assert next_to_launch(with_shot(board, 0, 1, state="rendering")) == []


def test_the_cut_joins_every_shot_in_order_and_is_the_shots_frames_less_the_crossfades():
    board = a_storyboard(3)
    for index in range(3):
        board = with_shot(board, index, 1, state=DONE, job_id=f"shot-{index + 1}", frames=9)
    spec, inputs = cut_spec(board, "the-cut")
    assert spec.mode == "join" and spec.clips == ("shot1.mp4", "shot2.mp4", "shot3.mp4")
    assert inputs == {"shot1.mp4": "shot-1", "shot2.mp4": "shot-2", "shot3.mp4": "shot-3"}
    assert spec.crossfade_s == crossfade_s(board) == 0.5  # 4 frames at 8 fps
    assert expected_cut_frames(board) == 27 - 2 * 4
