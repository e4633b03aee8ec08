"""Load a CogVideoX pipeline and render a JobSpec with it, one timed phase at a time.

The phases use the pipeline's own documented API, so a render equals a plain
`pipe(prompt=..., generator=...)` call with the same seed (tests/processing_job checks this for
every family, text- and image-to-video):

- encoding: `pipe.encode_prompt` (with the transformer's `max_text_seq_length`), after counting the
  prompt's tokens so a cut prompt is reported, never silent;
- denoising: `pipe(prompt_embeds=..., [image=...,] output_type="latent", callback_on_step_end=...)`,
  with a draft's cache enabled on the transformer for this call only;
- decoding: `pipe.decode_latents` + `pipe.video_processor.postprocess_video(..., output_type="np")`.

Loading picks a memory plan (memory.py) from the loaded weights and the GPU's free memory. If the
GPU runs out of memory all the same, the render goes on with a smaller plan (`after_out_of_memory`):
a decoding that doesn't fit is decoded again from the same latents, a denoising starts again; the
change is in the result's `plan_changes`. Only when no smaller plan is left does the job fail.
torch and diffusers are imported inside the functions: `processing_job` stays cheap to import.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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
from processing_job.speed import SpeedOptions, SpeedReport, accelerate, transformer_cache
from processing_job.weights import HUB, WeightsError, WeightsSource

log = logging.getLogger(__name__)

GIB = 2**30


class RenderError(RuntimeError):
    """A render this job can't do; the message is a sentence for the person who asked."""


@dataclass
class LoadedPipeline:
    pipe: Any  # a diffusers pipeline (typed loosely: diffusers is imported lazily)
    info: ModelInfo
    weights: WeightsSource
    device: str  # "cuda" or "cpu"
    dtype: str  # torch dtype name the weights run in
    memory_plan: MemoryPlan
    memory_needs: MemoryNeeds | None = None
    speed: SpeedReport = field(default_factory=SpeedReport)

    @property
    def offload(self) -> bool:
        return self.memory_plan.offload

    @property
    def vae_tiling(self) -> bool:
        return self.memory_plan.vae_tiling

    @property
    def max_sequence_length(self) -> int:
        return int(self.pipe.transformer.config.max_text_seq_length)


@dataclass(frozen=True)
class TokenCount:
    count: int  # tokens in the text, with the end-of-sequence token
    used: int  # what the model reads
    cut: int  # what was dropped from the end

    @classmethod
    def of(cls, count: int, limit: int) -> TokenCount:
        used = min(count, limit)
        return cls(count=count, used=used, cut=count - used)


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
    speed: SpeedOptions | None = None,
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
    report = accelerate(pipe, speed or SpeedOptions(), device=device, offload=plan.offload)
    return LoadedPipeline(
        pipe=pipe,
        info=info,
        weights=weights,
        device=device,
        dtype=dtype_name,
        memory_plan=plan,
        memory_needs=needs,
        speed=report,
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
    config = pipe.transformer.config
    latent_frames = (frames - 1) // pipe.vae_scale_factor_temporal + 1
    patch_t = config.patch_size_t or 1
    latent_frames += -latent_frames % patch_t
    spatial = (height // pipe.vae_scale_factor_spatial // config.patch_size) * (
        width // pipe.vae_scale_factor_spatial // config.patch_size
    )
    tokens = latent_frames // patch_t * spatial + config.max_text_seq_length
    return estimate(
        weights,
        tokens=tokens,
        hidden=config.num_attention_heads * config.attention_head_dim,
        batch=2 if guidance else 1,
        activation_bytes=pipe.transformer.dtype.itemsize,
        frames=frames,
        height=height,
        width=width,
    )


def count_tokens(tokenizer: Any, text: str, limit: int) -> TokenCount:
    """How many tokens `text` is, as the pipeline tokenizes it (with the end token), against `limit`."""
    ids = tokenizer(text, add_special_tokens=True, truncation=False).input_ids
    return TokenCount.of(len(ids), limit)


def render(
    loaded: LoadedPipeline,
    spec: JobSpec,
    reporter: ProgressReporter | None = None,
    *,
    image: Any = None,
    speed: SpeedOptions | None = None,
) -> Rendered:
    """Render `spec` with `loaded`, reporting phases and steps to `reporter`.

    `image`: the prepared picture (a PIL image at the spec's size) for image-to-video.
    `speed`: the draft cache to use; by default none, whatever the spec's speed (inference.py
    reads the environment's choice)."""
    import torch

    pipe, info = loaded.pipe, loaded.info
    if spec.mode != info.mode:
        raise RenderError(f"{info.name} can't render in {spec.mode} mode.")
    if spec.mode == "i2v" and image is None:
        raise RenderError("Image-to-video needs a picture, and none was given.")
    reporter = reporter or ProgressReporter(NullSink(), spec.job_id)
    speed = speed or SpeedOptions()
    max_len = loaded.max_sequence_length
    use_cfg = spec.guidance_scale > 1.0  # the pipeline's own rule for classifier-free guidance
    timings: dict[str, float] = {}
    warnings: list[str] = []
    plan_changes: list[str] = []
    clock = _PhaseClock(loaded.device)

    prompt_tokens = count_tokens(pipe.tokenizer, spec.prompt, max_len)
    negative_tokens = count_tokens(pipe.tokenizer, spec.negative_prompt, max_len)
    # Without guidance the pipeline never reads the negative prompt: its length doesn't matter.
    counted = [("prompt", prompt_tokens)] + ([("negative prompt", negative_tokens)] if use_cfg else [])
    for label, tokens in counted:
        if tokens.cut:
            warnings.append(
                f"The {label} is {tokens.count} tokens long; {info.name} reads {max_len}, "
                f"so the last {tokens.cut} were cut."
            )
            log.warning(warnings[-1])
    parameters: dict[str, Any] = {
        "height": spec.height,
        "width": spec.width,
        "num_frames": spec.num_frames,
        "num_inference_steps": spec.num_inference_steps,
        "guidance_scale": spec.guidance_scale,
        "use_dynamic_cfg": info.use_dynamic_cfg,
        "max_sequence_length": max_len,
    }
    image_input = {"image": image} if spec.mode == "i2v" else {}
    timings.update(encoding=0.0, denoising=0.0, decoding=0.0)

    while True:
        phase = ENCODING
        try:
            reporter.phase(ENCODING)
            with torch.no_grad():
                prompt_embeds, negative_embeds = pipe.encode_prompt(
                    prompt=spec.prompt,
                    negative_prompt=spec.negative_prompt,
                    do_classifier_free_guidance=use_cfg,
                    num_videos_per_prompt=1,
                    max_sequence_length=max_len,
                )
            timings["encoding"] += clock.lap()

            phase = DENOISING
            reporter.step(0, spec.num_inference_steps)
            with transformer_cache(pipe, speed.cache, guidance=use_cfg) as cache:
                latents = pipe(
                    prompt_embeds=prompt_embeds,
                    negative_prompt_embeds=negative_embeds,
                    generator=torch.Generator(device="cpu").manual_seed(spec.seed),
                    output_type="latent",
                    callback_on_step_end=_step_reporter(reporter),
                    callback_on_step_end_tensor_inputs=[],
                    **image_input,
                    **parameters,
                ).frames
            timings["denoising"] += clock.lap()
            break
        except Exception as error:
            smaller = _smaller_plan(loaded, error, phase)
        timings[phase] += clock.lap()
        prompt_embeds = negative_embeds = None  # the failed attempt's tensors go before the next one
        _switch_plan(loaded, smaller, phase, plan_changes)

    # CogVideoX 1.5 pads the latent frames to its temporal patch at the front; the pipeline drops the
    # padding before decoding, and so do we.
    latent_frames = (spec.num_frames - 1) // pipe.vae_scale_factor_temporal + 1
    latents = latents[:, latents.shape[1] - latent_frames :]
    while True:
        try:
            reporter.phase(DECODING)
            with torch.no_grad():
                video = pipe.decode_latents(latents)
                frames = pipe.video_processor.postprocess_video(video=video, output_type="np")[0]
            break
        except Exception as error:
            smaller = _smaller_plan(loaded, error, DECODING)
        video = None
        _switch_plan(loaded, smaller, DECODING, plan_changes)
    if loaded.offload:
        pipe.maybe_free_model_hooks()
    timings["decoding"] += clock.lap()

    parameters.update(
        seed=spec.seed,
        generator_device="cpu",
        negative_prompt=spec.negative_prompt,
        fps=spec.fps,
        mode=spec.mode,
        speed=spec.speed,
        cache=cache,
        pipeline=type(pipe).__name__,
        scheduler=type(pipe.scheduler).__name__,
        dtype=loaded.dtype,
        device=loaded.device,
        memory_plan=loaded.memory_plan.name,
        offload=loaded.offload,
        vae_tiling=loaded.vae_tiling,
        compiled=loaded.speed.compiled,
        quantized=loaded.speed.quantized,
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
