"""What a render will take, shown before it starts, and what it took, shown after."""

from __future__ import annotations

import pytest

from bot.conversation.costs import (
    DEFAULT_PRICES_PER_HOUR,
    Pricing,
    RenderCost,
    duration,
    estimate_render,
    money,
    parallel,
    spent,
)
from bot.conversation.sessions import Job
from bot.runtime.settings import ConfigError, Settings
from processing_job.spec import JobSpec
from tests.aws.test_aws_settings import REQUIRED

CLOUD = Pricing(local=False)
AWS_ENV = {"VIDEOBOT_BACKEND": "aws", **REQUIRED}


def spec(model: str = "cogvideox-5b", **changes: object) -> JobSpec:
    return JobSpec.create(job_id="j", model=model, prompt="A fox in the snow.", seed=1, **changes)


def test_a_cloud_render_costs_its_time_at_the_instance_price():
    cost = estimate_render(spec(), pricing=CLOUD)
    assert cost.instance == "ml.g6e.2xlarge"
    assert cost.dollars == pytest.approx(cost.seconds / 3600 * DEFAULT_PRICES_PER_HOUR["ml.g6e.2xlarge"])


def test_a_cold_job_counts_its_start_up_and_a_warm_one_does_not():
    cold = estimate_render(spec(), pricing=CLOUD)
    warm = estimate_render(spec(), pricing=Pricing(local=False, warm=True))
    assert cold.startup_s > 60
    assert warm.startup_s == 0
    assert cold.seconds - warm.seconds == pytest.approx(cold.startup_s)


def test_a_bigger_model_and_size_take_longer():
    small = estimate_render(
        spec("cogvideox-2b"), pricing=Pricing(local=False, instances={"cogvideox-2b": "x"})
    )
    big = estimate_render(
        spec("cogvideox1.5-5b"), pricing=Pricing(local=False, instances={"cogvideox1.5-5b": "x"})
    )
    assert big.seconds > 2 * small.seconds


def test_a_draft_takes_less_than_a_final_render():
    final = estimate_render(spec(num_inference_steps=50), pricing=CLOUD)
    draft = estimate_render(spec(num_inference_steps=20, quality="draft"), pricing=CLOUD)
    assert draft.seconds - draft.startup_s < (final.seconds - final.startup_s) / 2


def test_smoothing_and_upscaling_add_time():
    plain = estimate_render(spec(), pricing=CLOUD)
    staged = estimate_render(spec(interpolate=2, upscale=2), pricing=CLOUD)
    assert staged.seconds > plain.seconds


def test_the_local_runner_costs_time_and_no_money():
    cost = estimate_render(spec("tiny"), pricing=Pricing(local=True))
    assert cost.dollars is None
    assert cost.line().endswith("on this machine")


def test_an_instance_without_a_price_shows_no_dollars():
    cost = estimate_render(spec(), pricing=Pricing(local=False, per_hour={}))
    assert cost.dollars is None
    assert "$" not in cost.line()


def test_the_line_says_how_long_where_and_how_much():
    cost = RenderCost(seconds=430, dollars=0.3349, startup_s=165, instance="ml.g6e.2xlarge")
    assert cost.line() == "≈ 8 min on ml.g6e.2xlarge (3 min of it starting up), about $0.33"


def test_what_a_render_took_is_not_marked_as_a_guess():
    cost = RenderCost(seconds=75, dollars=0.05, instance="ml.g5.2xlarge", predicted=False)
    assert cost.line() == "75 s on ml.g5.2xlarge, about $0.05"


def test_shots_side_by_side_take_the_longest_and_cost_them_all():
    one, two = RenderCost(100, 1.0, 50), RenderCost(300, 2.0, 60)
    both = parallel([one, two])
    assert (both.seconds, both.dollars) == (300, 3.0)
    assert ((one + two).seconds, (one + two).dollars) == (400, 3.0)


def test_a_finished_job_costs_from_its_launch_to_its_end():
    job = Job(
        job_id="j",
        channel="C1",
        thread_ts="1.0",
        owner="U1",
        spec=spec().to_dict(),
        created_at=0.0,
        updated_at=0.0,
        launched_at=1000.0,
        started_at=1120.0,
        finished_at=1360.0,
    )
    cost = spent(job, pricing=CLOUD)
    assert cost is not None and not cost.predicted
    assert (cost.seconds, cost.startup_s) == (360.0, 120.0)
    assert cost.dollars == pytest.approx(0.1 * DEFAULT_PRICES_PER_HOUR["ml.g6e.2xlarge"])


def test_a_job_that_never_started_cost_nothing_to_show():
    job = Job(
        job_id="j",
        channel="C1",
        thread_ts="1.0",
        owner="U1",
        spec=spec().to_dict(),
        created_at=0,
        updated_at=0,
    )
    assert spent(job, pricing=CLOUD) is None


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.2, "1 s"), (45, "45 s"), (89, "89 s"), (91, "2 min"), (3600, "1 h"), (4800, "1 h 20 min")],
)
def test_durations_read_as_people_say_them(seconds, shown):
    assert duration(seconds) == shown


@pytest.mark.parametrize(("dollars", "shown"), [(0.001, "under $0.01"), (0.19, "$0.19"), (1234.0, "$1,234")])
def test_money_reads_as_people_say_it(dollars, shown):
    assert money(dollars) == shown


def test_prices_can_be_configured_per_instance():
    settings = Settings.from_env({**AWS_ENV, "VIDEOBOT_INSTANCE_PRICES": '{"ml.g6e.2xlarge": 3.5}'})
    assert settings.pricing.per_hour["ml.g6e.2xlarge"] == 3.5
    assert settings.pricing.per_hour["ml.g5.2xlarge"] == DEFAULT_PRICES_PER_HOUR["ml.g5.2xlarge"]


def test_a_price_that_is_not_a_number_is_a_clear_configuration_error():
    with pytest.raises(ConfigError, match="US dollars per hour"):
        Settings.from_env({**AWS_ENV, "VIDEOBOT_INSTANCE_PRICES": '{"ml.g6e.2xlarge": "cheap"}'})


def test_local_settings_price_nothing():
    assert Settings.from_env({}).pricing.local


def test_only_the_stages_cost_no_denoising_and_no_model_load():
    plain = estimate_render(spec(), pricing=CLOUD)
    stages_only = JobSpec.create(
        job_id="j",
        model="cogvideox-5b",
        prompt="",
        seed=1,
        mode="stages",
        video="clip.mp4",
        interpolate=2,
        upscale=2,
    )
    staged = estimate_render(stages_only, pricing=CLOUD)
    assert staged.seconds < plain.seconds / 2
    assert staged.startup_s < plain.startup_s


def test_a_cost_under_a_cent_is_not_said_to_be_about_anything():
    assert RenderCost(seconds=1, dollars=0.0004, instance="ml.g5.2xlarge", predicted=False).line() == (
        "1 s on ml.g5.2xlarge, under $0.01"
    )
