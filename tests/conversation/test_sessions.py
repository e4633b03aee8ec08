"""The conversation's rules: drafts, who may render, and how a job moves."""

import pytest

from bot.conversation.sessions import (
    AlreadyDone,
    DraftOptions,
    InvalidTransition,
    NoDraft,
    NotAllowed,
    advance,
    as_final,
    draft_from_spec,
    fitted_to_picture,
    for_mode,
    model_for_mode,
    new_draft,
    plan_job,
    seconds_problem,
    set_draft,
    start_session,
    use_action,
    use_image,
)
from processing_job.models import UnknownModelError, resolve_model
from processing_job.spec import SpecError


def session(**changes):
    return start_session(channel="C1", thread_ts="1700000000.000100", owner="UOWNER", idea="a fox", now=0)


def draft(**options):
    return new_draft(
        DraftOptions(**options), prompt="A fox in snow.", default_model="cogvideox-2b", seed=5, refined_by="x"
    )


def test_a_new_draft_takes_the_models_defaults():
    d = draft()
    assert (d.model, d.num_frames, d.num_inference_steps, d.guidance_scale, d.seed) == (
        "cogvideox-2b",
        49,
        50,
        6.0,
        5,
    )


def test_seconds_become_the_nearest_allowed_frame_count():
    assert draft(seconds=3).num_frames == 25
    assert draft(seconds=60).num_frames == 49


def test_a_draft_preview_uses_fewer_steps():
    assert draft(quality="draft").num_inference_steps < draft().num_inference_steps


def test_each_new_draft_gets_the_next_revision():
    s = set_draft(session(), draft(), now=1)
    s = set_draft(s, draft(), now=2)
    assert s.draft.revision == 2


def test_an_impossible_draft_is_refused_with_the_reason():
    with pytest.raises(SpecError, match="8N\\+1 frames"):
        set_draft(session(), draft(num_frames=50), now=1)


def test_only_the_owner_or_an_admin_may_render():
    s = set_draft(session(), draft(), now=1)
    with pytest.raises(NotAllowed, match="Only <@UOWNER>"):
        plan_job(s, user="USTRANGER", admins=frozenset(), now=2)
    assert plan_job(s, user="UADMIN", admins=frozenset({"UADMIN"}), now=2).owner == "UOWNER"


def test_rendering_needs_a_draft():
    with pytest.raises(NoDraft):
        plan_job(session(), user="UOWNER", admins=frozenset(), now=2)


def test_the_same_draft_always_plans_the_same_job():
    s = set_draft(session(), draft(), now=1)
    first = plan_job(s, user="UOWNER", admins=frozenset(), now=2)
    again = plan_job(s, user="UOWNER", admins=frozenset(), now=3)
    assert first.job_id == again.job_id
    assert first.spec["seed"] == 5 and first.spec["model"] == "cogvideox-2b"


def test_a_job_moves_forward_only():
    s = set_draft(session(), draft(), now=1)
    job = plan_job(s, user="UOWNER", admins=frozenset(), now=2)
    job = advance(job, "rendering", now=3)
    job = advance(job, "delivering", now=4)
    job = advance(job, "delivered", now=5)
    assert (job.started_at, job.finished_at) == (3, 5)
    with pytest.raises(InvalidTransition):
        advance(job, "delivering", now=6)


def test_a_draft_preview_takes_the_registrys_draft_steps():
    assert draft(quality="draft").num_inference_steps == resolve_model("cogvideox-2b").draft_steps


def test_a_picture_moves_the_draft_to_the_families_image_model_with_its_defaults():
    moved = for_mode(draft(seed=3, quality="draft"), "i2v")
    assert (moved.model, moved.seed, moved.quality) == ("cogvideox-5b-i2v", 3, "draft")
    assert moved.prompt == "A fox in snow."


def test_an_image_model_is_its_own_image_variant():
    assert model_for_mode("cogvideox1.5-5b-i2v", "i2v").key == "cogvideox1.5-5b-i2v"
    with pytest.raises(UnknownModelError):
        model_for_mode("no-such-model", "i2v")


def test_a_final_render_of_a_draft_keeps_prompt_and_seed_at_full_steps():
    final = as_final(draft(seed=11, quality="draft"))
    assert (final.quality, final.seed, final.num_inference_steps) == ("final", 11, 50)


def test_a_render_can_be_turned_back_into_its_draft():
    s = set_draft(session(), draft(seed=8), now=1)
    job = plan_job(s, user="UOWNER", admins=frozenset(), now=2)
    again = draft_from_spec(job.job_spec, refined_by="x")
    assert (again.prompt, again.seed, again.model, again.num_frames) == (
        "A fox in snow.",
        8,
        "cogvideox-2b",
        49,
    )


def test_a_picture_session_is_sized_to_the_pictures_shape_where_the_model_allows():
    s = use_image(
        session(),
        image_key="images/x/F1.png",
        media_type="image/png",
        size=(768, 1360),
        text="",
        user="UOWNER",
        now=1,
    )
    portrait = fitted_to_picture(for_mode(draft(model="cogvideox1.5-5b"), "i2v"), s)
    assert portrait.size == (768, 1360)
    fixed = fitted_to_picture(for_mode(draft(), "i2v"), s)  # 5B-I2V only renders 720×480
    assert fixed.size == (720, 480) and fixed.height is None


def test_a_picture_shared_without_words_asks_to_animate_it():
    s = use_image(
        session(), image_key="images/x/F1.png", media_type="image/png", size=None, text=" ", user="U", now=1
    )
    assert (s.mode, s.turns[-1].text) == ("i2v", "Animate this picture.")


def test_a_one_time_action_works_once():
    s = use_action(session(), "reroll:job-1", now=1)
    with pytest.raises(AlreadyDone):
        use_action(s, "reroll:job-1", now=2)


def test_the_same_prompt_again_is_not_a_new_turn():
    s = set_draft(session(), draft(), now=1)
    s = set_draft(s, draft(seed=9), now=2)
    assert [t.role for t in s.turns] == ["user", "assistant"]


def test_a_clip_longer_than_the_model_renders_is_explained():
    info = resolve_model("cogvideox-2b")
    assert seconds_problem(info, 6.4) is None
    assert seconds_problem(info, 10) == "CogVideoX-2B renders clips of up to 6 seconds, not 10."
