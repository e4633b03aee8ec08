"""Load a CogVideoX pipeline and render a JobSpec with it, one timed phase at a time.

The phases use the pipeline's own documented API, so a render equals a plain
`pipe(prompt=..., generator=...)` call with the same seed (tests/processing_job checks this):

- encoding: `pipe.encode_prompt` (with the transformer's `max_text_seq_length`), after counting the
  prompt's tokens so a cut prompt is reported, never silent;
- denoising: `pipe(prompt_embeds=..., output_type="latent", callback_on_step_end=...)`;
- decoding: `pipe.decode_latents` + `pipe.video_processor.postprocess_video(..., output_type="np")`.

torch and diffusers are imported inside the functions: `processing_job` stays cheap to import.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from processing_job.models import ModelInfo
from processing_job.progress import DECODING, ENCODING, NullSink, ProgressReporter
from processing_job.spec import JobSpec
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
    offload: bool  # enable_model_cpu_offload(): parts wait in CPU memory until used
    vae_tiling: bool

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
    warnings: list[str] = field(default_factory=list)


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


def needs_offload(info: ModelInfo, device: str) -> bool:
    """Whether the whole pipeline won't fit the GPU's free memory: then its parts take turns on it
    (model CPU offload) and the VAE decodes in tiles. A first rule; a real memory planner comes later."""
    if device != "cuda":
        return False
    import torch

    free, _total = torch.cuda.mem_get_info()
    return free < info.min_gpu_memory_gb * GIB


def load_pipeline(info: ModelInfo, weights: WeightsSource, *, device: str | None = None) -> LoadedPipeline:
    """`from_pretrained` the registry's pipeline class from `weights`, placed on `device`."""
    import diffusers
    import torch

    device = device or pick_device()
    # Half precision is for GPUs; on a CPU it is slow or unsupported, so run in float32 there.
    dtype_name = info.dtype if device == "cuda" else "float32"
    pipeline_class = getattr(diffusers, info.pipeline)
    try:
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
    offload = needs_offload(info, device)
    if offload:
        pipe.enable_model_cpu_offload()
        pipe.vae.enable_tiling()
    else:
        pipe.to(device)
    return LoadedPipeline(
        pipe=pipe,
        info=info,
        weights=weights,
        device=device,
        dtype=dtype_name,
        offload=offload,
        vae_tiling=offload,
    )


def count_tokens(tokenizer: Any, text: str, limit: int) -> TokenCount:
    """How many tokens `text` is, as the pipeline tokenizes it (with the end token), against `limit`."""
    ids = tokenizer(text, add_special_tokens=True, truncation=False).input_ids
    return TokenCount.of(len(ids), limit)


def render(
    loaded: LoadedPipeline,
    spec: JobSpec,
    reporter: ProgressReporter | None = None,
) -> Rendered:
    """Render `spec` with `loaded`, reporting phases and steps to `reporter`."""
    import torch

    if spec.mode != "t2v" or loaded.info.pipeline != "CogVideoXPipeline":
        raise RenderError(f"This job can't render {loaded.info.name} in {spec.mode} mode yet.")
    reporter = reporter or ProgressReporter(NullSink(), spec.job_id)
    pipe, info = loaded.pipe, loaded.info
    max_len = loaded.max_sequence_length
    use_cfg = spec.guidance_scale > 1.0  # the pipeline's own rule for classifier-free guidance
    timings: dict[str, float] = {}
    warnings: list[str] = []
    clock = _PhaseClock(loaded.device)

    reporter.phase(ENCODING)
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
    with torch.no_grad():
        prompt_embeds, negative_embeds = pipe.encode_prompt(
            prompt=spec.prompt,
            negative_prompt=spec.negative_prompt,
            do_classifier_free_guidance=use_cfg,
            num_videos_per_prompt=1,
            max_sequence_length=max_len,
        )
    timings["encoding"] = clock.lap()

    reporter.step(0, spec.num_inference_steps)
    parameters: dict[str, Any] = {
        "height": spec.height,
        "width": spec.width,
        "num_frames": spec.num_frames,
        "num_inference_steps": spec.num_inference_steps,
        "guidance_scale": spec.guidance_scale,
        "use_dynamic_cfg": info.use_dynamic_cfg,
        "max_sequence_length": max_len,
    }
    latents = pipe(
        prompt_embeds=prompt_embeds,
        negative_prompt_embeds=negative_embeds,
        generator=torch.Generator(device="cpu").manual_seed(spec.seed),
        output_type="latent",
        callback_on_step_end=_step_reporter(reporter),
        callback_on_step_end_tensor_inputs=[],
        **parameters,
    ).frames
    timings["denoising"] = clock.lap()

    reporter.phase(DECODING)
    with torch.no_grad():
        # CogVideoX 1.5 pads the latent frames to its temporal patch; the pipeline drops the
        # padding before decoding, and so do we.
        latent_frames = (spec.num_frames - 1) // pipe.vae_scale_factor_temporal + 1
        latents = latents[:, latents.shape[1] - latent_frames :]
        video = pipe.decode_latents(latents)
        frames = pipe.video_processor.postprocess_video(video=video, output_type="np")[0]
    if loaded.offload:
        pipe.maybe_free_model_hooks()
    timings["decoding"] = clock.lap()

    parameters.update(
        seed=spec.seed,
        generator_device="cpu",
        negative_prompt=spec.negative_prompt,
        fps=spec.fps,
        pipeline=type(pipe).__name__,
        scheduler=type(pipe.scheduler).__name__,
        dtype=loaded.dtype,
        device=loaded.device,
        offload=loaded.offload,
        vae_tiling=loaded.vae_tiling,
    )
    return Rendered(
        frames=np.asarray(frames, dtype=np.float32),
        timings=timings,
        prompt_tokens=prompt_tokens,
        negative_prompt_tokens=negative_tokens,
        parameters=parameters,
        warnings=warnings,
    )


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
