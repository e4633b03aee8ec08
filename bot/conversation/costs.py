"""What a render will cost before it starts, and what it did cost after.

Before: seconds and dollars PREDICTED from the model's size (no GPU has timed these models for us yet):
the FLOPs of one guided denoising step (the formula `bench/render.py` prints with its arithmetic) on the
dense BF16 peak of the instance's GPU at the efficiency published diffusers timings imply, plus the VAE
decode, the stages after it and, for a job that starts cold, the instance's start-up and the weights'
load. After: the render's own clock (the job's start and end stamps) at the same hourly price.

Prices are configuration (`Pricing`): SageMaker processing's on-demand rate per instance-hour. The local
runner costs nothing but time, and says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.conversation.sessions import Job, Session
from processing_job.models import JOIN, ModelInfo, resolve_model
from processing_job.spec import JobSpec

# SageMaker processing, on-demand, us-east-1, USD per instance-hour (EC2's price × 1.25, SageMaker's
# usual mark-up on these families; see bench/prices.py for where each figure came from).
DEFAULT_PRICES_PER_HOUR: Mapping[str, float] = {
    "ml.m5.xlarge": 0.23,
    "ml.g5.2xlarge": 1.515,
    "ml.g6.2xlarge": 1.2225,
    "ml.g6e.2xlarge": 2.803,
}
# Dense BF16 tensor-core peak (TFLOP/s) of each instance's GPU (NVIDIA datasheets; A10G as the A10).
PEAK_TFLOPS: Mapping[str, float] = {"ml.g5.2xlarge": 125.0, "ml.g6.2xlarge": 121.0, "ml.g6e.2xlarge": 362.0}
# The share of that peak published CogVideoX-5B timings imply (H100 0.30, A100 0.44): the middle.
EFFICIENCY = 0.37
DRAFT_CACHE_SPEEDUP = 1.55  # FasterCache on draft renders (facts.md)
# A cold processing job: instance provisioning and image pull, then the weights from S3 and the load
# (ASSUMPTIONS until SageMaker's billed seconds replace them: bench/cost.py's 90–240 s, split).
COLD_START_S, LOAD_S = 120.0, 45.0
DECODE_S_PER_MEGAPIXEL_FRAME = 0.45  # the VAE decode on a 362 TFLOP/s card, scaled by the peak
SMOOTH_S_PER_MEGAPIXEL_FRAME = 0.06  # ffmpeg's minterpolate on the instance's CPUs, per output frame
UPSCALE_S_PER_MEGAPIXEL_FRAME = 0.08  # Real-ESRGAN per output megapixel on a 362 TFLOP/s card
JOIN_S_PER_CLIP = 2.0
# Local renders: the random-weight test models on this machine's CPU (measured: `make demo`).
LOCAL_SECONDS_PER_STEP, LOCAL_LOAD_S = 0.4, 8.0


@dataclass(frozen=True)
class Architecture:
    """The transformer's size, for the FLOP count of one step."""

    layers: int
    hidden: int
    spatial: int  # pixels per latent token along each side: VAE downsampling × patch size
    temporal_patch: int = 1
    text_tokens: int = 226  # joined to the video tokens (CogVideoX); 0 where text is cross-attended


ARCHITECTURES: Mapping[str, Architecture] = {
    "cogvideox-2b": Architecture(30, 1920, 16),
    "cogvideox-5b": Architecture(42, 3072, 16),
    "cogvideox-5b-i2v": Architecture(42, 3072, 16),
    "cogvideox1.5-5b": Architecture(42, 3072, 16, temporal_patch=2),
    "cogvideox1.5-5b-i2v": Architecture(42, 3072, 16, temporal_patch=2),
    "wan2.1-1.3b": Architecture(30, 1536, 16, text_tokens=0),
    "wan2.2-5b": Architecture(30, 3072, 32, text_tokens=0),
}


def step_flops(arch: Architecture, frames: int, height: int, width: int) -> float:
    """Forward FLOPs of one guided step: two passes (with and without the prompt) of
    layers × (2·12·d²·N in the linear layers + 4·N²·d in attention), N tokens."""
    latent_frames = (frames - 1) // 4 + 1
    latent_frames += -latent_frames % arch.temporal_patch
    tokens = latent_frames // arch.temporal_patch * (height // arch.spatial) * (width // arch.spatial)
    tokens += arch.text_tokens
    linear = 2 * 12 * arch.hidden**2 * tokens
    attention = 4 * tokens**2 * arch.hidden
    return 2 * arch.layers * (linear + attention)


@dataclass(frozen=True)
class Pricing:
    """Where renders run and what an hour there costs."""

    local: bool = True  # the local runner: no bill, no start-up
    per_hour: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_PRICES_PER_HOUR))
    instances: Mapping[str, str] = field(default_factory=dict)  # model key -> instance, where configured
    warm: bool = False  # a warm job takes the render: no start-up, no load
    join_instance: str | None = None  # where a join (a storyboard's cut) runs, when not its model's

    def instance_for(self, info: ModelInfo) -> str | None:
        return None if self.local else self.instances.get(info.key, info.instance)

    def instance_for_job(self, info: ModelInfo, mode: object) -> str | None:
        """Where a job of `mode` runs: a join on `join_instance` (a CPU one on AWS), else its model's."""
        if mode == JOIN and self.join_instance and not self.local:
            return self.join_instance
        return self.instance_for(info)

    def price_for(self, instance: str | None) -> float | None:
        return None if instance is None else self.per_hour.get(instance)


@dataclass(frozen=True)
class RenderCost:
    """Seconds and dollars of one render (or several): predicted before, measured after."""

    seconds: float  # wall time from Generate to the video
    dollars: float | None  # None: no price known for the instance (or the local runner)
    startup_s: float = 0.0  # of `seconds`, starting the job and loading the model
    instance: str | None = None  # None on the local runner
    predicted: bool = True

    def __add__(self, other: RenderCost) -> RenderCost:
        """Renders one after another: times and costs add."""
        dollars = None if self.dollars is None or other.dollars is None else self.dollars + other.dollars
        instance = self.instance if self.instance == other.instance else None
        return RenderCost(
            self.seconds + other.seconds,
            dollars,
            self.startup_s + other.startup_s,
            instance if instance else self.instance or other.instance,
            self.predicted or other.predicted,
        )

    def line(self) -> str:
        """One short sentence: "≈ 4 min on ml.g6e.2xlarge (2 min of it starting up), about $0.19"."""
        where = f"on {self.instance}" if self.instance else "on this machine"
        if self.predicted:
            text = f"≈ {duration(self.seconds)} {where}"
            if self.startup_s >= 30:
                text += f" ({duration(self.startup_s)} of it starting up)"
        else:
            text = f"{duration(self.seconds)} {where}"
        if self.dollars is not None:
            amount = money(self.dollars)
            text += f", {amount}" if amount.startswith("under") else f", about {amount}"
        return text


def parallel(costs: list[RenderCost]) -> RenderCost:
    """Renders side by side: the wall time of the longest, the cost of all."""
    if not costs:
        return RenderCost(0.0, 0.0)
    total = costs[0]
    for cost in costs[1:]:
        total = total + cost
    return RenderCost(
        max(c.seconds for c in costs),
        total.dollars,
        max(c.startup_s for c in costs),
        total.instance,
        total.predicted,
    )


def estimate_render(spec: JobSpec, *, pricing: Pricing) -> RenderCost:
    """The predicted time from Generate to the video, and its cost, for one render of `spec`."""
    try:
        info = resolve_model(spec.model)
    except ValueError:
        return RenderCost(0.0, None)
    instance = pricing.instance_for_job(info, spec.mode)
    megapixel_frames = spec.num_frames * spec.height * spec.width / 1e6
    stages = 0.0
    if spec.interpolate > 1:
        stages += SMOOTH_S_PER_MEGAPIXEL_FRAME * megapixel_frames * spec.interpolate
    if spec.upscale > 1:
        stages += UPSCALE_S_PER_MEGAPIXEL_FRAME * megapixel_frames * spec.interpolate * spec.upscale**2
    if not spec.renders:  # joining clips or only the stages: no weights, no denoising
        startup = 0.0 if pricing.local or pricing.warm else COLD_START_S
        work = JOIN_S_PER_CLIP * len(spec.clips) + stages
        return _priced(work + startup, startup, instance, pricing)
    steps = spec.num_inference_steps * (spec.strength if spec.mode == "v2v" and spec.strength else 1.0)
    cache = DRAFT_CACHE_SPEEDUP if spec.quality == "draft" else 1.0
    if pricing.local or info.built_locally or info.key not in ARCHITECTURES:
        startup = 0.0 if pricing.warm else LOCAL_LOAD_S + (0.0 if pricing.local else COLD_START_S)
        work = LOCAL_SECONDS_PER_STEP * steps / cache + stages
        return _priced(work + startup, startup, instance, pricing)
    peak = PEAK_TFLOPS.get(instance or "", 125.0) * 1e12
    denoise = steps * step_flops(ARCHITECTURES[info.key], spec.num_frames, spec.height, spec.width)
    denoise /= peak * EFFICIENCY * cache
    slowdown = 362e12 / peak
    decode = DECODE_S_PER_MEGAPIXEL_FRAME * megapixel_frames * slowdown
    startup = 0.0 if pricing.warm else COLD_START_S + LOAD_S
    return _priced(denoise + decode + stages * slowdown + startup, startup, instance, pricing)


def estimate_draft(session: Session, *, pricing: Pricing) -> RenderCost | None:
    """The predicted cost of rendering the session's current draft; None without a renderable draft."""
    if session.draft is None:
        return None
    image = session.image_key.rsplit("/", 1)[-1] if session.image_key else None
    try:
        spec = session.draft.to_spec(
            "estimate", mode=session.mode, image=image if session.mode == "i2v" else None
        )
    except ValueError:  # SpecError, UnknownModelError
        return None
    return estimate_render(spec, pricing=pricing)


def spent(job: Job, *, pricing: Pricing) -> RenderCost | None:
    """What a finished render really took: from the job's launch (a cold job bills its start-up) to its
    end, at its instance's price; None when it never started."""
    if job.started_at is None or job.finished_at is None:
        return None
    began = job.launched_at if job.launched_at is not None else job.started_at
    try:
        info = resolve_model(job.spec.get("model", ""))
    except ValueError:
        return None
    instance = pricing.instance_for_job(info, job.spec.get("mode"))
    seconds = max(0.0, job.finished_at - began)
    startup = max(0.0, job.started_at - began)
    return _priced(seconds, startup, instance, pricing, predicted=False)


def _priced(
    seconds: float, startup: float, instance: str | None, pricing: Pricing, *, predicted: bool = True
) -> RenderCost:
    price = pricing.price_for(instance)
    dollars = None if price is None else seconds / 3600 * price
    return RenderCost(seconds, dollars, startup, instance, predicted)


def duration(seconds: float) -> str:
    """ "45 s", "3 min", "1 h 20 min": rounded to what a person reads."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    minutes = math.ceil(seconds / 60) if seconds < 3600 else round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"


def money(dollars: float) -> str:
    """ "$0.19", "under $0.01", "$12"."""
    if dollars < 0.005:
        return "under $0.01"
    return f"${dollars:.2f}" if dollars < 100 else f"${dollars:,.0f}"
