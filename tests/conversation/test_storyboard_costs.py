"""A storyboard card's expected time and cost: every shot's predicted render, side by side then the
join (parallel), or one after another (continuity), priced like any render."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.conversation.costs import Pricing, estimate_render
from bot.conversation.ports import Shot
from bot.conversation.sessions import DraftOptions, new_draft
from bot.conversation.storyboards import expected_cost, shot_draft, start_storyboard
from bot.slack.story_blocks import cost_line


def a_storyboard(shots=3, model="5b"):
    settings = new_draft(
        DraftOptions(model=model), prompt="a fox", default_model="tiny", seed=1, refined_by="x"
    )
    return start_storyboard(
        channel="C1",
        thread_ts="1.000001",
        owner="U1",
        idea="a fox",
        settings=settings,
        shots=tuple(Shot(f"Shot {n}", f"A fox, shot {n}.") for n in range(shots)),
        refined_by="the offline refiner",
        note="",
        now=0,
    )


def test_shots_in_parallel_take_the_longest_ones_time_and_cost_every_shot_plus_the_join():
    board, aws = a_storyboard(3), Pricing(local=False)
    one = estimate_render(shot_draft(board, 0).to_spec("x"), pricing=aws)
    side_by_side, one_by_one = expected_cost(board, pricing=aws)
    assert one_by_one.seconds == pytest.approx(3 * one.seconds)
    assert one.seconds < side_by_side.seconds < one_by_one.seconds
    assert side_by_side.dollars > 3 * one.dollars  # three renders and the join
    assert one_by_one.dollars == pytest.approx(3 * one.dollars)


def test_the_card_says_the_way_it_will_render_and_the_other_ways_time():
    board, aws = a_storyboard(2), Pricing(local=False)
    side_by_side, one_by_one = expected_cost(board, pricing=aws)
    line = cost_line(side_by_side, one_by_one, continuity=False)
    assert line.startswith("⏱️ Expected: ≈ ") and "on ml.g" in line and "about $" in line
    assert "shots in parallel then the join (one after another: ≈ " in line
    continuous = cost_line(*expected_cost(replace(board, continuity=True), pricing=aws), continuity=True)
    assert "one shot after another (in parallel: ≈ " in continuous
