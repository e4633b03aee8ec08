"""The memory plan is the fastest that fits the GPU's free memory, overridable, and recorded."""

from __future__ import annotations

import json

import pytest

from processing_job import inference
from processing_job.memory import (
    GIB,
    MemoryNeeds,
    MemoryPlanError,
    after_out_of_memory,
    choose_plan,
    estimate,
)

# CogVideoX-5B in bf16 (weights as its safetensors hold them): T5-XXL 4.76 B, transformer 5.57 B,
# VAE 0.22 B parameters, 2 bytes each. Activations for 49 frames at 720×480 with guidance.
FIVE_B = estimate(
    {"text_encoder": 9_520_000_000, "transformer": 11_140_000_000, "vae": 430_000_000},
    tokens=13 * 30 * 45 + 226,
    hidden=3072,
    batch=2,
    activation_bytes=2,
    frames=49,
    height=480,
    width=720,
)


@pytest.mark.parametrize(
    ("free_gib", "plan"),
    [
        (79, "gpu"),  # H100 80 GB: everything stays on the GPU
        (26, "gpu-tiled"),  # a 32 GB card: all on the GPU, the VAE decodes in tiles
        (22, "model-offload"),  # A10G / L4 24 GB: one model at a time on the GPU
        (10, "sequential-offload"),  # a small card: the last resort
    ],
)
def test_the_fastest_plan_that_fits_is_chosen(free_gib, plan):
    chosen = choose_plan("cuda", FIVE_B, free_gib * GIB)
    assert chosen.name == plan
    assert chosen.vae_tiling == (plan != "gpu") and chosen.vae_slicing == (plan == "sequential-offload")


def test_the_reason_gives_the_numbers():
    plan = choose_plan("cuda", FIVE_B, 79 * GIB)
    assert plan.reason.startswith("needs about ") and "of the 79.0 GiB free" in plan.reason
    assert plan.needed_bytes > FIVE_B.all_weights


def test_on_a_cpu_there_is_one_plan():
    assert choose_plan("cpu", None, None).name == "cpu"


def test_an_override_wins_and_says_so():
    plan = choose_plan("cuda", FIVE_B, 79 * GIB, override="Sequential-Offload")
    assert plan.name == "sequential-offload" and "VIDEOBOT_MEMORY_PLAN" in plan.reason


def test_an_unknown_override_lists_the_plans():
    with pytest.raises(MemoryPlanError, match="must be one of gpu, gpu-tiled, model-offload"):
        choose_plan("cuda", FIVE_B, 79 * GIB, override="everything")


def test_unknown_free_memory_takes_the_safe_fast_plan():
    assert choose_plan("cuda", None, None).name == "model-offload"


def test_needs_grow_with_the_video():
    small = estimate(
        {"t": 1}, tokens=1000, hidden=64, batch=2, activation_bytes=2, frames=9, height=64, width=96
    )
    big = estimate(
        {"t": 1}, tokens=4000, hidden=64, batch=2, activation_bytes=2, frames=49, height=480, width=720
    )
    assert big.denoising > small.denoising and big.decoding_whole > small.decoding_whole
    assert big.decoding_tiled < big.decoding_whole
    assert isinstance(big, MemoryNeeds) and big.largest_model == 1


def test_the_plan_and_the_weights_are_in_the_result(make_job, make_spec):
    paths = make_job(make_spec())
    assert inference.main(paths) == 0
    memory = json.loads(paths.result_file.read_text())["memory"]
    assert memory["plan"]["name"] == "cpu" and memory["plan"]["vae_tiling"] is False
    assert memory["plan_changes"] == []


def test_a_bad_memory_plan_setting_fails_the_job_plainly(make_job, make_spec, monkeypatch):
    # Overrides only apply on a GPU; the setting is checked everywhere so a typo shows at once.
    monkeypatch.setenv("VIDEOBOT_MEMORY_PLAN", "everything")
    paths = make_job(make_spec())
    assert inference.main(paths) == 1
    assert paths.failure_file.read_text().startswith(
        "The job is misconfigured: The memory plan must be one of"
    )


def _plan_named(name: str):
    return choose_plan("cuda", None, None, override=name)


def test_a_decoding_that_runs_out_of_memory_on_the_fastest_plan_goes_on_in_tiles():
    after = after_out_of_memory(_plan_named("gpu"), "decoding")
    assert after is not None and after.name == "gpu-tiled" and after.vae_tiling


@pytest.mark.parametrize("phase", ["encoding", "denoising"])
def test_running_out_of_memory_before_decoding_moves_the_models_off_the_gpu(phase):
    after = after_out_of_memory(_plan_named("gpu"), phase)
    assert after is not None and after.name == "model-offload" and after.offload


@pytest.mark.parametrize(
    ("plan", "phase", "then"),
    [
        ("gpu-tiled", "decoding", "model-offload"),
        ("model-offload", "denoising", "sequential-offload"),
        ("model-offload", "decoding", "sequential-offload"),
    ],
)
def test_each_retry_takes_the_next_smaller_plan(plan, phase, then):
    after = after_out_of_memory(_plan_named(plan), phase)
    assert after is not None and after.name == then


def test_after_layer_by_layer_offload_or_on_a_cpu_nothing_smaller_is_left():
    assert after_out_of_memory(_plan_named("sequential-offload"), "denoising") is None
    assert after_out_of_memory(choose_plan("cpu", None, None), "decoding") is None
