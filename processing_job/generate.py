"""Load a model's pipelines and render a JobSpec with them, one timed phase at a time.

`render` is the same short sequence for every model family (processing_job/families/), each phase
the family's, through the pipeline's own documented API, so a render equals a plain
`pipe(prompt=..., generator=...)` call with the same seed (tests/processing_job checks this for
every family and mode):

1. check inputs (the family's sentences for what it can't render);
2. count the prompt's tokens against the registry's limit, so a cut prompt is reported, never silent;
3. encode the prompt (`encode_prompt` at that limit);
4. denoise (the mode's pipeline with the embeddings and `output_type="latent"`, a draft's cache
   enabled on the transformer for this call only, each step reported);
5. decode (the latents to frames). Export is the caller's (inference.py).

Loading picks a memory plan (memory.py) from the loaded weights and the GPU's free memory. If the
GPU runs out of memory all the same, the render goes on with a smaller plan (`after_out_of_memory`):
a decoding that doesn't fit is decoded again from the same latents, a denoising starts again; the
change is in the result's `plan_changes`. Only when no smaller plan is left does the job fail.
torch and diffusers are imported inside the functions: `processing_job` stays cheap to import.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from processing_job.acceleration import (
    AccelerationOptions,
    AccelerationReport,
    accelerate,
    transformer_cache,
)
from processing_job.families import Conditioning, ModelFamily, family_for
from processing_job.memory import (
    GPU,
    GPU_TILED,
    SEQUENTIAL_OFFLOAD,
    MemoryNeeds,
    MemoryPlan,
    after_out_of_memory,
    choose_plan,
    estimate,
    is_out_of_memory,
)
from processing_job.models import ModelInfo
from processing_job.progress import DECODING, DENOISING, ENCODING, NullSink, ProgressReporter
from processing_job.spec import JobSpec
from processing_job.tokens import TokenCount
from processing_job.weights import HUB, WeightsError, WeightsSource

log = logging.getLogger(__name__)

GIB = 2**30


class RenderError(RuntimeError):
    """A render this job can't do; the message is a sentence for the person who asked."""


@dataclass
class LoadedPipeline:
    pipe: Any  # the diffusers pipeline of the current mode (typed loosely: diffusers loads lazily)
    info: ModelInfo
    weights: WeightsSource
    device: str  # "cuda" or "cpu"
    dtype: str  # torch dtype name the weights run in
    memory_plan: MemoryPlan
    memory_needs: MemoryNeeds | None = None
    acceleration: AccelerationReport = field(default_factory=AccelerationReport)
    # Every pipeline made from these weights, by class name: the checkpoint's own (from_pretrained)
    # and those derived from it with from_pipe for other modes (the same modules, no second copy).
    pipelines: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.pipelines.setdefault(type(self.pipe).__name__, self.pipe)

    @property
    def family(self) -> ModelFamily:
        return family_for(self.info)

    @property
    def offload(self) -> bool:
        return self.memory_plan.offload

    @property
    def vae_tiling(self) -> bool:
        return self.memory_plan.vae_tiling

    @property
    def max_sequence_length(self) -> int:
        """The text encoder's token limit, as the registry gives it (`max_prompt_tokens`)."""
        return self.info.max_prompt_tokens

    def pipeline_for(self, mode: str) -> Any:
        """The pipeline that renders `mode` with these weights, made with `from_pipe` the first time."""
        import diffusers

        name = self.family.pipeline_class(mode)
        if name not in self.pipelines:
            base = self.pipelines.get(self.info.pipeline, self.pipe)
            derived = getattr(diffusers, name).from_pipe(base)
            derived.set_progress_bar_config(disable=True)
            self.pipelines[name] = derived
        return self.pipelines[name]

    def use(self, mode: str) -> Any:
        """Make `mode`'s pipeline the current one, placed by the memory plan; returns it."""
        pipe = self.pipeline_for(mode)
        if pipe is not self.pipe:
            if self.offload:
                # Offload hooks belong to a pipeline: the new one sets its own on the shared modules.
                apply_memory_plan(pipe, self.memory_plan, self.device)
            self.pipe = pipe
        return pipe


@dataclass
class Rendered:
    frames: np.ndarray  # (frames, height, width, 3) float32 in 0..1
    timings: dict[str, float]  # seconds per phase: encoding, denoising, decoding
    prompt_tokens: TokenCount
    negative_prompt_tokens: TokenCount
    parameters: dict[str, Any]  # every value the pipeline was called with
    warnings: list[str] = field(default_factory=list)  # for the person who asked (a prompt cut short)
    plan_changes: list[str] = field(default_factory=list)  # for the operator: out of memory, went smaller


def quiet_library_progress_bars() -> None:
    """Turn off diffusers' and transformers' tqdm bars (loading, saving): in a job's log they are
    noise, and the ProgressReporter already tells the story. Process-wide, so only entry points call it."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()


def pick_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def free_gpu_bytes(device: str) -> int | None:
    if device != "cuda":
        return None
    import torch

    free, _total = torch.cuda.mem_get_info()
    return int(free)


def load_pipeline(
    info: ModelInfo,
    weights: WeightsSource,
    *,
    device: str | None = None,
    spec: JobSpec | None = None,
    memory_plan: str | None = None,
    acceleration: AccelerationOptions | None = None,
) -> LoadedPipeline:
    """`from_pretrained` the registry's pipeline class from `weights`, then place it by a memory plan
    chosen for `spec`'s shape (the model's defaults without one), or named by `memory_plan`."""
    import diffusers
    import torch

    device = device or pick_device()
    # Half precision is for GPUs; on a CPU it is slow or unsupported, so run in float32 there.
    dtype_name = info.dtype if device == "cuda" else "float32"
    pipeline_class = getattr(diffusers, info.pipeline)
    try:
        # Straight from the files: nothing is converted, re-saved or re-sharded.
        pipe = pipeline_class.from_pretrained(weights.location, dtype=getattr(torch, dtype_name))
    except OSError as error:
        if weights.kind != HUB:
            raise
        raise WeightsError(
            f"The model weights for {info.name} could not be downloaded from the Hugging Face hub "
            f"({weights.location}): {error.__class__.__name__}."
        ) from error
    # Our ProgressReporter reports the steps; tqdm's bars only clutter the job's log.
    pipe.set_progress_bar_config(disable=True)
    needs = memory_needs(pipe, info, spec) if device == "cuda" else None
    plan = choose_plan(device, needs, free_gpu_bytes(device), memory_plan)
    apply_memory_plan(pipe, plan, device)
    log.info("Memory plan %s: %s", plan.name, plan.reason)
    report = accelerate(pipe, acceleration or AccelerationOptions(), device=device, offload=plan.offload)
    return LoadedPipeline(
        pipe=pipe,
        info=info,
        weights=weights,
        device=device,
        dtype=dtype_name,
        memory_plan=plan,
        memory_needs=needs,
        acceleration=report,
    )


def apply_memory_plan(pipe: Any, plan: MemoryPlan, device: str) -> None:
    if plan.name in (GPU, GPU_TILED) or device != "cuda":
        pipe.to(device)
    elif plan.name == SEQUENTIAL_OFFLOAD:
        pipe.enable_sequential_cpu_offload()
    else:
        pipe.enable_model_cpu_offload()
    if plan.vae_tiling:
        pipe.vae.enable_tiling()
    if plan.vae_slicing:
        pipe.vae.enable_slicing()


def memory_needs(pipe: Any, info: ModelInfo, spec: JobSpec | None) -> MemoryNeeds:
    """The render's GPU memory needs: the weights as loaded (exact), the activations estimated."""
    import torch

    weights = {}
    for name, component in pipe.components.items():
        if isinstance(component, torch.nn.Module):
            tensors = [*component.parameters(), *component.buffers()]
            weights[name] = sum(t.numel() * t.element_size() for t in tensors)
    frames = spec.num_frames if spec else info.num_frames
    height = spec.height if spec else info.height
    width = spec.width if spec else info.width
    guidance = (spec.guidance_scale if spec else info.guidance_scale) > 1.0
    tokens, hidden = family_for(info).activation_shape(pipe, frames, height, width)
    return estimate(
        weights,
        tokens=tokens,
        hidden=hidden,
        batch=2 if guidance else 1,
        activation_bytes=pipe.transformer.dtype.itemsize,
        frames=frames,
        height=height,
        width=width,
    )


def render(
    loaded: LoadedPipeline,
    spec: JobSpec,
    reporter: ProgressReporter | None = None,
    *,
    image: Any = None,
    video: Sequence[Any] = (),
    acceleration: AccelerationOptions | None = None,
) -> Rendered:
    """Render `spec` with `loaded`, reporting phases and steps to `reporter`.

    `image`: the prepared picture (a PIL image at the spec's size) for image-to-video and extend.
    `video`: the prepared frames (PIL images at the spec's size) for video-to-video.
    `acceleration`: the draft cache to use; by default none, whatever the spec's quality
    (inference.py reads the environment's choice)."""
    import torch

    info, family = loaded.info, loaded.family
    reporter = reporter or ProgressReporter(NullSink(), spec.job_id)
    acceleration = acceleration or AccelerationOptions()
    conditioning = Conditioning(image=image, video=list(video), strength=spec.restyle_strength)
    timings = {"encoding": 0.0, "denoising": 0.0, "decoding": 0.0}
    plan_changes: list[str] = []
    clock = _PhaseClock(loaded.device)

    # 1. Check inputs
    if not info.renders(spec.mode):
        raise RenderError(f"{info.name} can't render in {spec.mode} mode.")
    loaded.use(spec.mode)
    problems = family.check_inputs(loaded, spec, conditioning)
    if problems:
        raise RenderError(" ".join(problems))
    guidance = spec.guidance_scale > 1.0  # the pipelines' own rule for classifier-free guidance
    parameters = family.call_parameters(loaded, spec, conditioning)

    # 2. Count the prompt's tokens against the text encoder's limit
    prompt_tokens = family.count_tokens(loaded, spec.prompt)
    negative_tokens = family.count_tokens(loaded, spec.negative_prompt)
    warnings = _cut_prompt_warnings(info, prompt_tokens, negative_tokens if guidance else None)

    # 3. Encode the prompt, 4. denoise; a smaller memory plan starts again from 3.
    while True:
        phase = ENCODING
        try:
            reporter.phase(ENCODING)
            embeddings = family.encode_prompt(loaded, spec, guidance=guidance)
            timings["encoding"] += clock.lap()

            phase = DENOISING
            reporter.step(0, _denoising_steps(parameters))
            layout = family.latent_layout
            with transformer_cache(
                loaded.pipe, acceleration.cache, guidance=guidance, latent_layout=layout
            ) as cache:
                latents = family.denoise(
                    loaded,
                    embeddings,
                    conditioning,
                    parameters,
                    generator=torch.Generator(device="cpu").manual_seed(spec.seed),
                    on_step_end=_step_reporter(reporter),
                )
            timings["denoising"] += clock.lap()
            break
        except Exception as error:
            smaller = _smaller_plan(loaded, error, phase)
        timings[phase] += clock.lap()
        embeddings = None  # the failed attempt's tensors go before the next one
        _switch_plan(loaded, smaller, phase, plan_changes)

    # 5. Decode; whole frames that don't fit are decoded again in tiles from the same latents.
    while True:
        try:
            reporter.phase(DECODING)
            frames = family.decode(loaded, latents, parameters["num_frames"])
            break
        except Exception as error:
            smaller = _smaller_plan(loaded, error, DECODING)
        _switch_plan(loaded, smaller, DECODING, plan_changes)
    if loaded.offload:
        loaded.pipe.maybe_free_model_hooks()
    timings["decoding"] += clock.lap()

    parameters.update(
        seed=spec.seed,
        generator_device="cpu",
        negative_prompt=spec.negative_prompt,
        fps=spec.fps,
        mode=spec.mode,
        quality=spec.quality,
        cache=cache,
        family=info.family,
        pipeline=type(loaded.pipe).__name__,
        scheduler=type(loaded.pipe.scheduler).__name__,
        dtype=loaded.dtype,
        device=loaded.device,
        memory_plan=loaded.memory_plan.name,
        offload=loaded.offload,
        vae_tiling=loaded.vae_tiling,
        compiled=loaded.acceleration.compiled,
        quantized=loaded.acceleration.quantized,
    )
    return Rendered(
        frames=np.asarray(frames, dtype=np.float32),
        timings=timings,
        prompt_tokens=prompt_tokens,
        negative_prompt_tokens=negative_tokens,
        parameters=parameters,
        warnings=warnings,
        plan_changes=plan_changes,
    )


def _cut_prompt_warnings(info: ModelInfo, prompt: TokenCount, negative: TokenCount | None) -> list[str]:
    """A sentence for each prompt the model cut short. Without guidance the pipeline never reads the
    negative prompt (`negative` is None): its length doesn't matter then."""
    warnings = []
    for label, tokens in (("prompt", prompt), ("negative prompt", negative)):
        if tokens is not None and tokens.cut:
            warnings.append(
                f"The {label} is {tokens.count} tokens long; {info.name} reads {info.max_prompt_tokens}, "
                f"so the last {tokens.cut} were cut."
            )
            log.warning(warnings[-1])
    return warnings


def _denoising_steps(parameters: dict[str, Any]) -> int:
    """The steps the loop will run: a restyle starts part-way, at `strength` (diffusers' get_timesteps)."""
    steps = int(parameters["num_inference_steps"])
    strength = parameters.get("strength")
    return steps if strength is None else min(int(steps * strength), steps)


def _smaller_plan(loaded: LoadedPipeline, error: Exception, phase: str) -> MemoryPlan:
    """The plan to go on with after `error` in `phase`, if the GPU ran out of memory and a smaller plan
    is left; otherwise `error` again. (Called in the `except` clause; the switch waits until it is over,
    so the failed attempt's tensors, held by the traceback, are freed first.)"""
    smaller = after_out_of_memory(loaded.memory_plan, phase) if is_out_of_memory(error) else None
    if smaller is None:
        raise error
    return smaller


def _switch_plan(loaded: LoadedPipeline, plan: MemoryPlan, phase: str, changes: list[str]) -> None:
    if loaded.device == "cuda":
        import torch

        torch.cuda.empty_cache()  # give back what the failed attempt left in the allocator's cache
    changes.append(
        f"The GPU ran out of memory {phase} with the {loaded.memory_plan.name} memory plan; "
        f"the render went on with {plan.name}."
    )
    log.warning(changes[-1])
    apply_memory_plan(loaded.pipe, plan, loaded.device)
    loaded.memory_plan = plan


def _step_reporter(reporter: ProgressReporter) -> Callable[[Any, int, Any, dict], dict]:
    def on_step_end(pipe: Any, index: int, timestep: Any, callback_kwargs: dict) -> dict:
        reporter.step(index + 1, pipe.num_timesteps)
        return {}  # change nothing: the pipeline keeps its own latents

    return on_step_end


class _PhaseClock:
    """Seconds between laps; on a GPU it waits for queued kernels so each phase gets its own time."""

    def __init__(self, device: str) -> None:
        self._cuda = device == "cuda"
        self._last = time.perf_counter()

    def lap(self) -> float:
        if self._cuda:
            import torch

            torch.cuda.synchronize()
        now = time.perf_counter()
        elapsed, self._last = now - self._last, now
        return round(elapsed, 4)
