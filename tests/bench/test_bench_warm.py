"""The warm section's SageMaker simulation runs the bot's own dispatch rule: one job per render launches
and loads every time; warm jobs take renders that come while they wait, and none that come while no
job is warm yet."""

from __future__ import annotations

import pytest

from bench.warm import HANDOVER_S, simulate, start_up_s


def test_one_job_per_render_launches_and_loads_for_every_render():
    found = simulate(180.0, warm=False, ranged=True)
    assert (found["launches"], found["loads"]) == (10, 10)
    assert found["following_s"] == pytest.approx(start_up_s(ranged=True))


def test_renders_that_come_while_a_warm_job_waits_are_taken_at_once():
    found = simulate(180.0, warm=True, ranged=True)
    assert found["launches"] < 10
    assert found["following_s"] == HANDOVER_S


def test_a_burst_before_any_job_is_warm_still_launches_a_job_each():
    assert simulate(0.0, warm=True, ranged=True)["launches"] == 10


def test_ranged_reads_start_a_job_sooner_than_file_mode():
    assert start_up_s(ranged=True) < start_up_s(ranged=False)
