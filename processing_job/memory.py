"""The memory plan: where a pipeline's parts live during a render, picked from the GPU's free memory.

Fastest first, each tried only when the one before won't fit:

- `gpu`: everything on the GPU, the VAE decoding whole;
- `gpu-tiled`: everything on the GPU, the VAE decoding in tiles (slightly slower decode, far less
  memory);
- `model-offload`: diffusers' `enable_model_cpu_offload()` (each model moves to the GPU when it runs:
  the text encoder, then the transformer for the whole loop, then the VAE) with VAE tiling — barely
  slower, since the transformer stays put for every step;
- `sequential-offload`: `enable_sequential_cpu_offload()` (weights stream in layer by layer, every
  step) with VAE tiling and slicing — tiny memory, several times slower; the last resort.

On a CPU there is one plan, `cpu`. `VIDEOBOT_MEMORY_PLAN` (or the CLI's `--memory-plan`) overrides
the choice. When a render runs out of GPU memory anyway, `after_out_of_memory` names the plan to
finish it with (the GPU time already spent is not thrown away for a failure). The sizes are exact
for the weights (counted on the loaded pipeline) and estimates for the activations (see `estimate`),
with a safety margin; result.json records the numbers used.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

MEMORY_PLAN_ENV = "VIDEOBOT_MEMORY_PLAN"
GPU = "gpu"
GPU_TILED = "gpu-tiled"
MODEL_OFFLOAD = "model-offload"
SEQUENTIAL_OFFLOAD = "sequential-offload"
CPU = "cpu"
PLANS = (GPU, GPU_TILED, MODEL_OFFLOAD, SEQUENTIAL_OFFLOAD, CPU)
# Kept free beyond the estimate: the CUDA context, allocator fragmentation, cuDNN workspaces.
SAFETY_BYTES = 2 * 2**30
GIB = 2**30


class MemoryPlanError(ValueError):
    """An override that names no plan; the message says which exist."""


@dataclass(frozen=True)
class MemoryNeeds:
    """Bytes a render needs on the GPU, by part (weights exact, activations estimated)."""

    weights: dict[str, int]  # per pipeline component: text_encoder, transformer, vae
    denoising: int  # activations of one transformer call (classifier-free guidance doubles the batch)
    decoding_whole: int  # the VAE decoding full frames
    decoding_tiled: int  # the VAE decoding tiles

    @property
    def all_weights(self) -> int:
        return sum(self.weights.values())

    @property
    def largest_model(self) -> int:
        return max(self.weights.values(), default=0)


@dataclass(frozen=True)
class MemoryPlan:
    name: str
    reason: str
    vae_tiling: bool
    vae_slicing: bool
    free_gpu_bytes: int | None = None
    needed_bytes: int | None = None

    @property
    def offload(self) -> bool:
        return self.name in (MODEL_OFFLOAD, SEQUENTIAL_OFFLOAD)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def choose_plan(
    device: str, needs: MemoryNeeds | None, free_bytes: int | None, override: str | None = None
) -> MemoryPlan:
    """The fastest plan that fits `free_bytes` on the GPU (or the `override`)."""
    if device != "cuda":
        return MemoryPlan(CPU, "no GPU: everything runs on the CPU", vae_tiling=False, vae_slicing=False)
    if override:
        name = override.strip().lower()
        if name not in PLANS or name == CPU:
            raise MemoryPlanError(
                f"The memory plan must be one of {', '.join(p for p in PLANS if p != CPU)}, not {override!r}."
            )
        return _plan(name, f"asked for with {MEMORY_PLAN_ENV}", free_bytes, None)
    if needs is None or free_bytes is None:
        return _plan(MODEL_OFFLOAD, "free GPU memory unknown: the safe fast plan", free_bytes, None)
    steps = (
        (GPU, needs.all_weights + max(needs.denoising, needs.decoding_whole)),
        (GPU_TILED, needs.all_weights + max(needs.denoising, needs.decoding_tiled)),
        (MODEL_OFFLOAD, needs.largest_model + max(needs.denoising, needs.decoding_tiled)),
    )
    for name, needed in steps:
        if needed + SAFETY_BYTES <= free_bytes:
            reason = f"needs about {needed / GIB:.1f} GiB of the {free_bytes / GIB:.1f} GiB free"
            return _plan(name, reason, free_bytes, needed)
    reason = f"even one model at a time needs more than the {free_bytes / GIB:.1f} GiB free"
    return _plan(SEQUENTIAL_OFFLOAD, reason, free_bytes, None)


def after_out_of_memory(plan: MemoryPlan, phase: str) -> MemoryPlan | None:
    """The plan to go on with after `plan` ran out of GPU memory in `phase` ("decoding", or any phase
    before it); None when nothing smaller is left (then the render fails, with a sentence).

    Decoding whole frames is the usual culprit on the fastest plan, and tiling fixes it; otherwise the
    models leave the GPU: one at a time first, then layer by layer."""
    if plan.name == GPU and phase == "decoding":
        return _plan(GPU_TILED, "ran out of GPU memory decoding whole frames", plan.free_gpu_bytes, None)
    if plan.name in (GPU, GPU_TILED):
        return _plan(
            MODEL_OFFLOAD, f"ran out of GPU memory {phase} with {plan.name}", plan.free_gpu_bytes, None
        )
    if plan.name == MODEL_OFFLOAD:
        return _plan(
            SEQUENTIAL_OFFLOAD, f"ran out of GPU memory {phase} with {plan.name}", plan.free_gpu_bytes, None
        )
    return None


def is_out_of_memory(error: BaseException) -> bool:
    """Whether `error` is the GPU (or the allocator) running out of memory."""
    torch = sys.modules.get("torch")  # if torch never loaded, it can't have run out of GPU memory
    if torch is not None and isinstance(error, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def plan_from_env(env: Mapping[str, str] | None = None) -> str | None:
    """The plan `VIDEOBOT_MEMORY_PLAN` names (checked here, on any device, so a typo fails at once)."""
    env = os.environ if env is None else env
    name = (env.get(MEMORY_PLAN_ENV) or "").strip().lower() or None
    if name is not None and (name not in PLANS or name == CPU):
        raise MemoryPlanError(
            f"The memory plan must be one of {', '.join(p for p in PLANS if p != CPU)}, not {name!r}."
        )
    return name


def _plan(name: str, reason: str, free: int | None, needed: int | None) -> MemoryPlan:
    tiling = name != GPU
    return MemoryPlan(
        name,
        reason,
        vae_tiling=tiling,
        vae_slicing=name == SEQUENTIAL_OFFLOAD,
        free_gpu_bytes=free,
        needed_bytes=needed,
    )


def estimate(
    weights: dict[str, int],
    *,
    tokens: int,
    hidden: int,
    batch: int,
    activation_bytes: int,
    frames: int,
    height: int,
    width: int,
    tile: tuple[int, int] = (240, 360),
) -> MemoryNeeds:
    """Activation estimates, from the shapes (an upper bound, not a measurement):

    - denoising: about a dozen live tensors of `tokens × hidden` per batch item (attention through
      SDPA keeps no `tokens²` matrix; the feed-forward's 4× inner width dominates);
    - decoding: CogVideoX's VAE decodes a few frames at a time; at full resolution its 128-channel
      float32 activations, about six alive, set the peak. Tiling bounds the size to one tile.
    """
    denoising = 12 * batch * tokens * hidden * activation_bytes
    frames_at_once = min(frames, 8)

    def decode(h: int, w: int) -> int:
        return 6 * frames_at_once * h * w * 128 * 4

    tile_h, tile_w = min(height, tile[0]), min(width, tile[1])
    return MemoryNeeds(
        weights=dict(weights),
        denoising=denoising,
        decoding_whole=decode(height, width),
        decoding_tiled=decode(tile_h, tile_w),
    )
