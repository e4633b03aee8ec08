"""Acceleration: the draft cache, and the optional compiler and quantizer, each a documented hook.

- `quality="draft"` renders a preview: the spec already asks for fewer steps (the registry's
  `draft_steps`), and the transformer gets one of diffusers' caches through `enable_cache` for that
  render only. Which cache is the model family's `default_draft_cache` (CogVideoX: FasterCache, chosen
  by measurement — bench/render.py measures every one on the tiny models — and by the published
  CogVideoX figures in facts.md, FasterCache 1.55×, PAB 1.34×; Wan: First Block Cache, which supports
  `WanTransformerBlock` and, unlike MagCache, needs no per-model calibration). `VIDEOBOT_DRAFT_CACHE`
  picks another or `none`.
- `VIDEOBOT_COMPILE=1` compiles the transformer with `torch.compile` (CUDA only). Off by default: a
  job renders one video, and compiling costs about as much as it saves on one 50-step render.
- `VIDEOBOT_QUANTIZE=int8|fp8` quantizes the transformer with torchao (CUDA only; fp8 needs compute
  capability 8.9+, an L4, L40S or H100). Off by default: it changes the pictures slightly.

Whatever can't apply here (a CPU, a missing torchao, an old GPU) is skipped with a note in
result.json, never an error: the video matters more than the speed-up.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

DRAFT_CACHE_ENV = "VIDEOBOT_DRAFT_CACHE"
COMPILE_ENV = "VIDEOBOT_COMPILE"
QUANTIZE_ENV = "VIDEOBOT_QUANTIZE"

FASTER_CACHE = "fastercache"
PYRAMID_ATTENTION_BROADCAST = "pab"
FIRST_BLOCK_CACHE = "first-block"
TAYLORSEER = "taylorseer"
CACHES = (FASTER_CACHE, PYRAMID_ATTENTION_BROADCAST, FIRST_BLOCK_CACHE, TAYLORSEER)
DEFAULT_DRAFT_CACHE = FASTER_CACHE  # for a family that names none
QUANTIZATIONS = ("int8", "fp8")


class AccelerationSettingError(ValueError):
    """An acceleration setting that names nothing we have; the message lists the choices."""


@dataclass(frozen=True)
class AccelerationOptions:
    cache: str | None = None  # for this render; None for a final render
    compile: bool = False
    quantize: str | None = None

    @classmethod
    def for_quality(
        cls,
        quality: str,
        env: Mapping[str, str] | None = None,
        *,
        draft_cache: str = DEFAULT_DRAFT_CACHE,
        supported: Sequence[str] = CACHES,
    ) -> AccelerationOptions:
        """The options a render of `quality` ("final" or "draft") gets in this environment;
        `draft_cache`: the model family's own choice, unless the environment names another of the
        caches the family `supported`."""
        env = os.environ if env is None else env
        cache = None
        if quality == "draft":
            asked = (env.get(DRAFT_CACHE_ENV) or draft_cache).strip().lower()
            if asked not in (*supported, "none"):
                raise AccelerationSettingError(
                    f"{DRAFT_CACHE_ENV} must be one of {', '.join(supported)} or none, not {asked!r}."
                )
            cache = None if asked == "none" else asked
        quantize = (env.get(QUANTIZE_ENV) or "").strip().lower() or None
        if quantize is not None and quantize not in QUANTIZATIONS:
            raise AccelerationSettingError(
                f"{QUANTIZE_ENV} must be one of {', '.join(QUANTIZATIONS)}, not {quantize!r}."
            )
        compile_ = (env.get(COMPILE_ENV) or "").strip().lower() in ("1", "true", "yes")
        return cls(cache=cache, compile=compile_, quantize=quantize)


@dataclass
class AccelerationReport:
    """What was applied, for result.json."""

    cache: str | None = None
    compiled: bool = False
    quantized: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cache": self.cache,
            "compiled": self.compiled,
            "quantized": self.quantized,
            "notes": list(self.notes),
        }


def cache_config(kind: str, pipe: Any, *, guidance: bool, latent_layout: str = "BFCHW") -> Any:
    """The diffusers cache config for `kind`; `guidance`: the render uses classifier-free guidance
    (a batch of unconditional + conditional); `latent_layout`: the family's latents, for FasterCache."""
    import diffusers

    def timestep() -> Any:
        return pipe.current_timestep

    if kind == PYRAMID_ATTENTION_BROADCAST:
        # diffusers' documented CogVideoX example.
        return diffusers.PyramidAttentionBroadcastConfig(
            spatial_attention_block_skip_range=2,
            spatial_attention_timestep_skip_range=(100, 800),
            current_timestep_callback=timestep,
        )
    if kind == FASTER_CACHE:
        # diffusers' documented CogVideoX settings: reuse spatial attention every other step after
        # t=681 and the unconditional branch 4 of 5 steps after t=781 (half of every CFG step).
        return diffusers.FasterCacheConfig(
            spatial_attention_block_skip_range=2,
            spatial_attention_timestep_skip_range=(-1, 681),
            current_timestep_callback=timestep,
            attention_weight_callback=lambda _: 0.3,
            unconditional_batch_skip_range=5,
            unconditional_batch_timestep_skip_range=(-1, 781),
            tensor_format=latent_layout,  # CogVideoX: (batch, frames, channels, h, w); Wan: BCFHW
            is_guidance_distilled=not guidance,
        )
    if kind == FIRST_BLOCK_CACHE:
        return diffusers.FirstBlockCacheConfig(threshold=0.1)
    if kind == TAYLORSEER:
        return diffusers.TaylorSeerCacheConfig(
            cache_interval=3,
            disable_cache_before_step=3,
            max_order=1,
            taylor_factors_dtype=pipe.transformer.dtype,
        )
    raise AccelerationSettingError(f"There is no cache called {kind!r}; choose one of {', '.join(CACHES)}.")


@contextmanager
def transformer_cache(
    pipe: Any, kind: str | None, *, guidance: bool, latent_layout: str = "BFCHW"
) -> Iterator[str | None]:
    """`kind`'s cache on the transformer for the duration (none when `kind` is None); a cache's state
    belongs to one render, so it is always removed afterwards."""
    if kind is None:
        yield None
        return
    transformer = pipe.transformer
    blocks = getattr(transformer, "transformer_blocks", None) or transformer.blocks  # CogVideoX | Wan
    if len(blocks) < 2 and kind == FIRST_BLOCK_CACHE:
        log.warning("First Block Cache needs two transformer blocks; rendering without a cache.")
        yield None
        return
    transformer.enable_cache(cache_config(kind, pipe, guidance=guidance, latent_layout=latent_layout))
    try:
        yield kind
    finally:
        transformer.disable_cache()


def accelerate(pipe: Any, options: AccelerationOptions, *, device: str, offload: bool) -> AccelerationReport:
    """Quantize and/or compile the transformer where this machine supports it; notes otherwise."""
    report = AccelerationReport()
    wanted = options.quantize or options.compile
    if not wanted:
        return report
    if device != "cuda":
        report.notes.append("torch.compile and torchao quantization need a CUDA GPU: skipped on the CPU.")
        return report
    if offload:
        report.notes.append("Quantization and compilation are skipped with CPU offload (weights move).")
        return report
    if options.quantize:
        report.quantized = _quantize(pipe, options.quantize, report.notes)
    if options.compile:
        # The transformer runs every step with the same shapes: compile it alone, in place, whole graph.
        pipe.transformer.compile(mode="max-autotune-no-cudagraphs", fullgraph=True)
        report.compiled = True
    return report


def _quantize(pipe: Any, kind: str, notes: list[str]) -> str | None:
    import torch

    if kind == "fp8" and torch.cuda.get_device_capability() < (8, 9):
        notes.append("fp8 needs compute capability 8.9 or newer (L4, L40S, H100): not quantized.")
        return None
    try:
        from torchao import quantization
    except ImportError:
        notes.append("torchao is not installed: not quantized.")
        return None
    config = (
        quantization.Int8WeightOnlyConfig()
        if kind == "int8"
        else quantization.Float8DynamicActivationFloat8WeightConfig()
    )
    quantization.quantize_(pipe.transformer, config)
    return kind
