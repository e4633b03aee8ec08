"""What can follow a finished video (pure rules): which of Extend, Smooth and Upscale it offers, and the
ids its follow-ups get."""

from __future__ import annotations

from bot.conversation.follow_ups import follow_up_id, offers
from bot.conversation.sessions import Job
from processing_job.spec import JOB_ID_PATTERN, JobSpec


def finished(model: str, *, width: int, height: int, fps: float, frames: int = 49) -> Job:
    """A delivered render of `model` whose video came out `width`×`height` at `fps`."""
    spec = JobSpec.create(job_id="c1-17000000000001-r1", model=model, prompt="A fox.", seed=1)
    video = {"frames": frames, "fps": fps, "width": width, "height": height}
    return Job(
        job_id=spec.job_id,
        channel="C1",
        thread_ts="1700000000.0001",
        owner="U1",
        spec=spec.to_dict(),
        created_at=0.0,
        updated_at=0.0,
        status="delivered",
        result={"video": video},
    )


def test_cogvideox_15_is_offered_an_upscale_by_two_only_and_5b_by_two_or_four():
    assert offers(finished("1.5", width=1360, height=768, fps=16, frames=81)).upscale == (2,)
    assert offers(finished("5b", width=720, height=480, fps=8)).upscale == (2, 4)


def test_a_smoothed_or_upscaled_video_is_not_offered_to_be_extended_or_processed_the_same_way_again():
    assert offers(finished("5b", width=720, height=480, fps=8)).extend
    smoothed = offers(finished("5b", width=720, height=480, fps=16, frames=98))
    upscaled = offers(finished("5b", width=1440, height=960, fps=8))
    assert (smoothed.extend, smoothed.smooth, smoothed.upscale) == (False, (), (2, 4))
    assert (upscaled.extend, upscaled.smooth, upscaled.upscale) == (False, (2, 3), ())


def test_a_model_family_without_an_image_model_offers_no_extend():
    assert not offers(finished("wan2.1-1.3b", width=832, height=480, fps=16, frames=81)).extend


def test_the_same_click_names_the_same_job_and_long_chains_stay_valid_job_ids():
    job_id = "c0123456789-17000000000001234-r12"
    for _ in range(10):
        job_id = follow_up_id(job_id, "x")
        assert JOB_ID_PATTERN.match(job_id)
    assert follow_up_id(job_id, "s2") == follow_up_id(job_id, "s2") != follow_up_id(job_id, "s3")
