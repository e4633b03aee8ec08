"""Storyboards in the session store: both adapters (DynamoDB on moto's server, its SQLite twin) keep
one storyboard per thread, read it back as written (shots, settings, states) and refuse stale writes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.conversation.ports import Conflict, Shot
from bot.conversation.sessions import DraftOptions, new_draft
from bot.conversation.storyboards import DONE, start_storyboard, with_shot


def a_storyboard(thread_ts="1.000001"):
    settings = new_draft(
        DraftOptions(num_frames=9), prompt="a fox", default_model="tiny", seed=1, refined_by="x"
    )
    shots = (Shot("Establishing wide", "A fox in the snow."), Shot("Close-up", "The fox's face."))
    return start_storyboard(
        channel="C1",
        thread_ts=thread_ts,
        owner="U1",
        idea="a fox",
        settings=settings,
        shots=shots,
        refined_by="the offline refiner",
        note="",
        now=0,
    )


def test_a_storyboard_reads_back_as_written(store):
    written = store.create_storyboard(with_shot(a_storyboard(), 1, 2.0, state=DONE, job_id="j2", frames=9))
    assert store.get_storyboard("C1", "1.000001") == written
    assert written.shots[1].frames == 9 and written.settings.num_frames == 9
    assert store.get_storyboard("C1", "9.9") is None


def test_a_thread_has_one_storyboard(store):
    store.create_storyboard(a_storyboard())
    with pytest.raises(Conflict):
        store.create_storyboard(a_storyboard())


def test_a_stale_storyboard_write_is_refused(store):
    first = store.create_storyboard(a_storyboard())
    store.save_storyboard(replace(first, continuity=True))
    with pytest.raises(Conflict):
        store.save_storyboard(replace(first, idea="stale"))
    assert store.get_storyboard("C1", "1.000001").continuity is True
