"""The GPU proof (`make bench-gpu`): the real models' render, timed on a CUDA card.

    python -m bench.gpu                       on a CUDA machine: measure, then write the section
    python -m bench.gpu --cpu-smoke --docs /tmp/b.md   the whole harness on the CPU, scaled down
    python -m bench.gpu --from-json bench-gpu.json     write a saved run's section into the docs

No weights can be downloaded, so each model is built from its real configuration with random
weights, directly on the GPU, in the dtype the job uses (bf16): a step's time depends on the shapes,
not on the weight values. Measured, per model (CogVideoX-5B, Wan 2.2 TI2V-5B, CogVideoX1.5-5B, at
their real sizes):

1. one denoising step, through the diffusers pipeline the job calls (classifier-free guidance, the
   scheduler, the step callback), with precomputed prompt embeddings: bf16 eager; `torch.compile`
   of the transformer blocks (mode default, and max-autotune-no-cudagraphs when time allows; the
   compile time is reported apart); torchao fp8 (dynamic activations and weights, the job's
   `VIDEOBOT_QUANTIZE=fp8`) + compile on compute capability 8.9+;
2. the draft caches the family supports (the job's own configurations, `enable_cache`), as the
   average step over a short schedule that spans the whole timestep range, against the same
   schedule uncached;
3. the VAE decode of random latents of the real size (whole frames, as the job does on an 80 GB
   card; tiled, as it does on smaller cards, when time allows);
4. the export: the job's H.264 faststart writer on moving, grainy frames of the output size.

Every figure per video is EXTRAPOLATED: a few timed steps (CUDA events, after a warm-up step) × the
real step count, and each is compared with the card's FLOP floor (bench/render.py's FLOP count over
the card's dense bf16 peak). A global deadline (7.5 minutes by default) and a budget per model keep
the run inside a lent machine's time: what doesn't fit is skipped with the reason, never guessed.
The section goes into docs/benchmarks.md between markers that `make bench` keeps, and the raw
figures to `$OUT/bench-gpu.json` when OUT is set (what the device tool brings back).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.render import gpu_peak_tflops

_PROCESS_START = time.monotonic()  # the budget counts the imports too

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs" / "benchmarks.md"
START_MARKER = "<!-- bench-gpu:start -->"
END_MARKER = "<!-- bench-gpu:end -->"
JSON_NAME = "bench-gpu.json"
MARKDOWN_NAME = "bench-gpu.md"

EAGER = ("bf16 eager", "eager (float32)")  # the baseline's label on a GPU, in a CPU smoke run
DEFAULT_BUDGET_S = 450.0  # the whole run, imports included: a lent device gives 15 minutes in all
TIMED_STEPS = 3  # after one warm-up step; the median is the step time
CACHE_SCHEDULE_STEPS = 10  # a short schedule over the whole timestep range, for the caches
STEPS, DRAFT_STEPS = 50, 20  # the registry's final and draft step counts (processing_job/models.py)
GOAL_FINAL_S, GOAL_FLOOR_RATIO, GOAL_DRAFT_SHARE = 47.0, 1.4, 0.25

# --- the real configurations ------------------------------------------------------------------
# From the checkpoints' config.json files on the Hugging Face hub (THUDM/CogVideoX-5b,
# THUDM/CogVideoX1.5-5B, Wan-AI/Wan2.2-TI2V-5B-Diffusers), written out here since no hub is
# reachable; every key is an argument of the installed diffusers class (checked by the smoke test).
# Values that set no shape (latent statistics, scaling factors) don't change the timing.

COGVIDEOX_5B_TRANSFORMER: dict[str, Any] = {
    "num_attention_heads": 48,
    "attention_head_dim": 64,
    "in_channels": 16,
    "out_channels": 16,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "time_embed_dim": 512,
    "text_embed_dim": 4096,
    "num_layers": 42,
    "dropout": 0.0,
    "attention_bias": True,
    "sample_width": 90,
    "sample_height": 60,
    "sample_frames": 49,
    "patch_size": 2,
    "temporal_compression_ratio": 4,
    "max_text_seq_length": 226,
    "activation_fn": "gelu-approximate",
    "timestep_activation_fn": "silu",
    "norm_elementwise_affine": True,
    "norm_eps": 1e-5,
    "spatial_interpolation_scale": 1.875,
    "temporal_interpolation_scale": 1.0,
    "use_rotary_positional_embeddings": True,
    "use_learned_positional_embeddings": False,
}
# 1.5: temporal patches of 2 latent frames, no patch bias; sample 300×300 latents (the pipeline's
# default size is 300 × 8 = 2400 px, facts.md; public copies of the checkpoint's config agree), 81
# frames. With rotary embeddings the sample size only bounds the RoPE grid's values, not a shape.
COGVIDEOX15_5B_TRANSFORMER: dict[str, Any] = {
    **COGVIDEOX_5B_TRANSFORMER,
    "patch_size_t": 2,
    "patch_bias": False,
    "sample_width": 300,
    "sample_height": 300,
    "sample_frames": 81,
}
COGVIDEOX_VAE: dict[str, Any] = {
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ["CogVideoXDownBlock3D"] * 4,
    "up_block_types": ["CogVideoXUpBlock3D"] * 4,
    "block_out_channels": [128, 256, 256, 512],
    "latent_channels": 16,
    "layers_per_block": 3,
    "act_fn": "silu",
    "norm_eps": 1e-6,
    "norm_num_groups": 32,
    "temporal_compression_ratio": 4,
    "sample_height": 480,
    "sample_width": 720,
    "scaling_factor": 0.7,
    "force_upcast": True,
    "use_quant_conv": False,
    "use_post_quant_conv": False,
}
COGVIDEOX15_VAE: dict[str, Any] = {
    **COGVIDEOX_VAE,
    "sample_height": 768,
    "sample_width": 1360,
    "invert_scale_latents": True,
}
COGVIDEOX_SCHEDULER: dict[str, Any] = {
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "clip_sample": False,
    "num_train_timesteps": 1000,
    "prediction_type": "v_prediction",
    "rescale_betas_zero_snr": True,
    "set_alpha_to_one": True,
    "snr_shift_scale": 1.0,
    "steps_offset": 0,
    "timestep_spacing": "trailing",
}
WAN22_5B_TRANSFORMER: dict[str, Any] = {
    "patch_size": (1, 2, 2),
    "num_attention_heads": 24,
    "attention_head_dim": 128,
    "in_channels": 48,
    "out_channels": 48,
    "text_dim": 4096,
    "freq_dim": 256,
    "ffn_dim": 14336,
    "num_layers": 30,
    "cross_attn_norm": True,
    "qk_norm": "rms_norm_across_heads",
    "eps": 1e-6,
    "image_dim": None,
    "added_kv_proj_dim": None,
    "rope_max_seq_len": 1024,
    "pos_embed_seq_len": None,
}
# The Wan 2.2 VAE: 48 latent channels, 16× spatial (a 2×2 patchify around an 8× network), 4× in time.
WAN22_VAE: dict[str, Any] = {
    "base_dim": 160,
    "decoder_base_dim": 256,
    "z_dim": 48,
    "dim_mult": [1, 2, 4, 4],
    "num_res_blocks": 2,
    "attn_scales": [],
    "temperal_downsample": [False, True, True],
    "dropout": 0.0,
    "latents_mean": [0.0] * 48,  # the checkpoint's statistics only shift and scale the latents
    "latents_std": [1.0] * 48,
    "is_residual": True,
    "in_channels": 12,
    "out_channels": 12,
    "patch_size": 2,
    "scale_factor_temporal": 4,
    "scale_factor_spatial": 16,
}
WAN_SCHEDULER: dict[str, Any] = {
    "num_train_timesteps": 1000,
    "prediction_type": "flow_prediction",
    "use_flow_sigmas": True,
    "flow_shift": 5.0,  # Wan 2.2 TI2V-5B's sample_shift
}


@dataclass(frozen=True)
class Family:
    """What the job does for a family: its caches (default first) and latent layout (FasterCache)."""

    name: str
    pipeline: str
    scheduler: str
    caches: tuple[str, ...]
    latent_layout: str
    guidance_scale: float
    call_options: tuple[tuple[str, Any], ...] = ()


# The job's choices, as in processing_job/families/ (read from there when that package is present).
COGVIDEOX = Family(
    "cogvideox",
    "CogVideoXPipeline",
    "CogVideoXDPMScheduler",
    ("fastercache", "pab", "first-block", "taylorseer"),
    "BFCHW",
    6.0,
    (("use_dynamic_cfg", True),),
)
# FasterCache's hooks fail on Wan's transformer in diffusers 0.42 (the engine-families branch).
WAN = Family(
    "wan", "WanPipeline", "UniPCMultistepScheduler", ("first-block", "taylorseer", "pab"), "BCFHW", 5.0
)


@dataclass(frozen=True)
class ModelCase:
    key: str
    name: str
    family: Family
    transformer: str
    transformer_config: dict[str, Any]
    vae: str
    vae_config: dict[str, Any]
    scheduler_config: dict[str, Any]
    frames: int
    height: int
    width: int
    fps: int
    text_tokens: int
    text_dim: int
    pipeline_config: tuple[tuple[str, Any], ...] = ()
    reserve_s: float = 0.0  # seconds kept back for this model by the models measured before it

    @property
    def hidden(self) -> int:
        c = self.transformer_config
        return c["num_attention_heads"] * c["attention_head_dim"]

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """The decoder's input for one video: CogVideoX (B, F, C, H, W), Wan (B, C, F, H, W)."""
        frames = (self.frames - 1) // 4 + 1
        if self.family is WAN:
            s = self.vae_config["scale_factor_spatial"]
            return (1, self.vae_config["z_dim"], frames, self.height // s, self.width // s)
        s = 2 ** (len(self.vae_config["block_out_channels"]) - 1)
        return (1, frames, self.vae_config["latent_channels"], self.height // s, self.width // s)

    @property
    def tokens(self) -> int:
        """Video tokens the transformer attends over (text tokens apart)."""
        c = self.transformer_config
        latent_frames = (self.frames - 1) // 4 + 1
        if self.family is WAN:
            pt, ph, pw = c["patch_size"]
            s = self.vae_config["scale_factor_spatial"]
            return latent_frames // pt * (self.height // s // ph) * (self.width // s // pw)
        pt = c.get("patch_size_t") or 1
        latent_frames += -latent_frames % pt
        s = 2 ** (len(self.vae_config["block_out_channels"]) - 1) * c["patch_size"]
        return latent_frames // pt * (self.height // s) * (self.width // s)

    @property
    def flop_per_step(self) -> float:
        """Forward FLOPs of one guided step (2 passes). CogVideoX: bench/render.py's formula, full
        attention over video + text tokens. Wan: per layer 8·d²·N (self-attention projections) +
        4·N²·d (self-attention) + 4·d²·N + 4·d²·T + 4·N·T·d (cross-attention on T text tokens) +
        4·d·f·N (feed-forward of width f)."""
        c, d, n = self.transformer_config, self.hidden, self.tokens
        if self.family is WAN:
            t, f = self.text_tokens, c["ffn_dim"]
            layer = (
                8 * d * d * n + 4 * n * n * d + 4 * d * d * n + 4 * d * d * t + 4 * n * t * d + 4 * d * f * n
            )
            return 2 * c["num_layers"] * layer
        linear = 2 * 12 * d * d * (n + self.text_tokens)
        attention = 4 * (n + self.text_tokens) ** 2 * d
        return 2 * c["num_layers"] * (linear + attention)


COGVIDEOX_5B = ModelCase(
    "cogvideox-5b",
    "CogVideoX-5B",
    COGVIDEOX,
    "CogVideoXTransformer3DModel",
    COGVIDEOX_5B_TRANSFORMER,
    "AutoencoderKLCogVideoX",
    COGVIDEOX_VAE,
    COGVIDEOX_SCHEDULER,
    frames=49,
    height=480,
    width=720,
    fps=8,
    text_tokens=226,
    text_dim=4096,
)
WAN22_5B = ModelCase(
    "wan2.2-5b",
    "Wan 2.2 TI2V-5B",
    WAN,
    "WanTransformer3DModel",
    WAN22_5B_TRANSFORMER,
    "AutoencoderKLWan",
    WAN22_VAE,
    WAN_SCHEDULER,
    frames=121,
    height=704,
    width=1280,
    fps=24,
    text_tokens=512,
    text_dim=4096,
    # Its model_index.json: one transformer, per-token timesteps (text and image to video).
    pipeline_config=(("expand_timesteps", True),),
    # Kept back by CogVideoX-5B: build, eager steps, decode, the default cache (guesses; tune them
    # with the first run's figures).
    reserve_s=100,
)
COGVIDEOX15_5B = ModelCase(
    "cogvideox1.5-5b",
    "CogVideoX1.5-5B",
    COGVIDEOX,
    "CogVideoXTransformer3DModel",
    COGVIDEOX15_5B_TRANSFORMER,
    "AutoencoderKLCogVideoX",
    COGVIDEOX15_VAE,
    COGVIDEOX_SCHEDULER,
    frames=81,
    height=768,
    width=1360,
    fps=16,
    text_tokens=226,
    text_dim=4096,
    reserve_s=85,  # build, eager steps (about 6 s each), decode
)
# Measured in this order: CogVideoX-5B carries the goals, Wan is the new family.
CASES = (COGVIDEOX_5B, WAN22_5B, COGVIDEOX15_5B)
EXPORT_RESERVE_S = 25.0


def smoke_case(case: ModelCase) -> ModelCase:
    """`case` scaled down for the CPU: 2 layers, narrow, a few latent frames of a few patches."""
    if case.family is WAN:
        transformer = {
            **case.transformer_config,
            "num_attention_heads": 2,
            "attention_head_dim": 8,
            "in_channels": 4,
            "out_channels": 4,
            "text_dim": 16,
            "ffn_dim": 32,
            "num_layers": 2,
            "rope_max_seq_len": 32,
        }
        vae = {
            **case.vae_config,
            "base_dim": 8,
            "decoder_base_dim": 8,
            "z_dim": 4,
            "dim_mult": [1, 1, 1, 1],
            "num_res_blocks": 1,
            "latents_mean": [0.0] * 4,
            "latents_std": [1.0] * 4,
        }
        size = {"frames": 9, "height": 64, "width": 64}
    else:
        transformer = {
            **case.transformer_config,
            "num_attention_heads": 2,
            "attention_head_dim": 16,  # RoPE splits a head in 3 even parts
            "in_channels": 4,
            "out_channels": 4,
            "time_embed_dim": 8,
            "text_embed_dim": 16,
            "num_layers": 2,
            "max_text_seq_length": 8,
            "sample_width": 6,
            "sample_height": 4,
            "sample_frames": case.frames if case.frames < 20 else 17,
        }
        vae = {
            **case.vae_config,
            "block_out_channels": [8, 8, 8, 8],
            "latent_channels": 4,
            "layers_per_block": 1,
            "norm_num_groups": 2,
        }
        size = {"frames": 17 if transformer.get("patch_size_t") else 9, "height": 32, "width": 48}
    return replace(
        case,
        transformer_config=transformer,
        vae_config=vae,
        text_tokens=8,
        text_dim=16,
        reserve_s=0,
        **size,
    )


# --- results ------------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the report: a measurement, or a skipped one with its reason."""

    model: str
    variant: str
    kind: str  # "step" (final render), "cache" (draft), "decode", "export"
    seconds_per_step: float | None = None
    seconds_per_video: float | None = None  # extrapolated to the render's step count, or measured
    floor_ratio: float | None = None
    speedup: float | None = None
    compile_s: float | None = None
    note: str = ""
    skipped: str | None = None  # why it wasn't measured (budget, hardware, a failure)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Run:
    card: str
    smoke: bool
    started: str
    environment: dict[str, Any]
    peak_tflops: float | None
    budget_s: float
    rows: list[Row] = field(default_factory=list)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # FLOPs, floor, tokens per model
    wall_s: float | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> Run:
        data = json.loads(text)
        rows = [Row(**row) for row in data.pop("rows")]
        return cls(**data, rows=rows)


# --- the budget ---------------------------------------------------------------------------------


class Budget:
    """A global deadline, and for each model a deadline that leaves the later models their reserve."""

    def __init__(
        self, seconds: float, started: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.clock = clock
        self.started = clock() if started is None else started
        self.deadline = self.started + seconds
        self.model_deadline = self.deadline

    def elapsed(self) -> float:
        return self.clock() - self.started

    def start_model(self, reserve_after: float) -> None:
        self.model_deadline = self.deadline - reserve_after

    def left(self) -> float:
        return self.model_deadline - self.clock()

    def allows(self, estimate: float) -> bool:
        """Whether `estimate` seconds fit in what is left of the model's budget."""
        return estimate <= self.left()


# --- timing -------------------------------------------------------------------------------------


class StepClock:
    """Marks on the device's stream at the start of a pipeline call and at the end of each step
    (the pipeline's `callback_on_step_end`): CUDA events on a GPU, the host clock on the CPU."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.marks: list[Any] = []

    def _mark(self) -> Any:
        import torch

        if self.device == "cuda":
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            return event
        return time.perf_counter()

    def start(self) -> None:
        self.marks = [self._mark()]

    def on_step_end(self, pipe: Any, index: int, timestep: Any, callback_kwargs: dict) -> dict:
        self.marks.append(self._mark())
        return {}

    def intervals(self) -> list[float]:
        """Seconds from the call's start to step 1's end, then each step's."""
        import torch

        if self.device == "cuda":
            torch.cuda.synchronize()
            return [a.elapsed_time(b) / 1000 for a, b in zip(self.marks, self.marks[1:], strict=False)]
        return [b - a for a, b in zip(self.marks, self.marks[1:], strict=False)]


def synchronize(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


@contextlib.contextmanager
def counting_attention() -> Iterator[list[int]]:
    """Counts calls of `scaled_dot_product_attention` (CogVideoX's processor and diffusers' native
    attention backend both look it up at call time): what a cache skips shows as fewer calls."""
    import torch

    original = torch.nn.functional.scaled_dot_product_attention
    count = [0]

    def counted(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return original(*args, **kwargs)

    torch.nn.functional.scaled_dot_product_attention = counted
    try:
        yield count
    finally:
        torch.nn.functional.scaled_dot_product_attention = original


# --- the models under test ------------------------------------------------------------------------


class Bench:
    """One model built at its configuration with random weights, and its pipeline without text
    encoder or tokenizer (the prompts come as random embeddings of the real shape)."""

    def __init__(self, case: ModelCase, device: str, dtype: Any, say: Callable[[str], None]) -> None:
        import diffusers
        import torch

        self.case, self.device, self.dtype, self.say = case, device, dtype, say
        self.quantized = False
        self.transformer = self._build_transformer()
        with torch.device(device):
            self.vae = getattr(diffusers, case.vae)(**case.vae_config)
        self.vae.to(dtype).eval().requires_grad_(False)
        scheduler = getattr(diffusers, case.family.scheduler)(**case.scheduler_config)
        self.pipe = getattr(diffusers, case.family.pipeline)(
            tokenizer=None,
            text_encoder=None,
            vae=self.vae,
            transformer=self.transformer,
            scheduler=scheduler,
            **dict(case.pipeline_config),
        )
        self.pipe.set_progress_bar_config(disable=True)
        generator = torch.Generator(device).manual_seed(0)
        shape = (1, case.text_tokens, case.text_dim)
        self.prompt = torch.randn(shape, generator=generator, device=device, dtype=dtype)
        self.negative = torch.randn(shape, generator=generator, device=device, dtype=dtype)

    def _build_transformer(self) -> Any:
        """Built on the device itself (PyTorch's default init runs there), then cast as
        `from_pretrained(dtype=...)` would, keeping the class's `_keep_in_fp32_modules` in float32."""
        import diffusers
        import torch

        cls = getattr(diffusers, self.case.transformer)
        with torch.device(self.device):
            model = cls(**self.case.transformer_config)
        model.to(self.dtype)
        keep = getattr(cls, "_keep_in_fp32_modules", None) or []
        if keep and self.dtype != torch.float32:
            for name, module in model.named_modules():
                if any(part in keep for part in name.split(".")):
                    module.to(torch.float32)
        return model.eval().requires_grad_(False)

    def rebuild_transformer(self) -> None:
        """A fresh bf16 transformer (after fp8 quantization replaced the weights)."""
        self.transformer = self._build_transformer()
        self.pipe.transformer = self.transformer
        free_memory(self.device)
        self.quantized = False

    @property
    def blocks(self) -> Any:
        t = self.transformer
        return t.transformer_blocks if hasattr(t, "transformer_blocks") else t.blocks

    def denoise(self, steps: int) -> list[float]:
        """One pipeline call of `steps` steps (latents out, no decoding); each interval's seconds."""
        import torch

        case = self.case
        clock = StepClock(self.device)
        with torch.no_grad():
            clock.start()
            self.pipe(
                prompt_embeds=self.prompt,
                negative_prompt_embeds=self.negative,
                height=case.height,
                width=case.width,
                num_frames=case.frames,
                num_inference_steps=steps,
                guidance_scale=case.family.guidance_scale,
                generator=torch.Generator(self.device).manual_seed(1),
                output_type="latent",
                callback_on_step_end=clock.on_step_end,
                callback_on_step_end_tensor_inputs=[],
                **dict(case.family.call_options),
            )
        return clock.intervals()

    def decode(self) -> float:
        """Seconds for the job's decode of one video's latents: the VAE and the frames to numpy."""
        return self._decode(self.case.latent_shape)

    def decode_warmup(self) -> tuple[float, float]:
        """A decode of a few latent frames at full size (the same kernels); (seconds, share of a
        whole video's latent frames) to predict the whole decode."""
        shape = list(self.case.latent_shape)
        axis = 2 if self.case.family is WAN else 1
        whole = shape[axis]
        shape[axis] = min(whole, 3)
        return self._decode(tuple(shape)), shape[axis] / whole

    def _decode(self, shape: tuple[int, ...]) -> float:
        import torch

        generator = torch.Generator(self.device).manual_seed(2)
        latents = torch.randn(shape, generator=generator, device=self.device, dtype=self.dtype)
        synchronize(self.device)
        started = time.perf_counter()
        with torch.no_grad():
            if self.case.family is WAN:
                video = self.vae.decode(latents, return_dict=False)[0]  # (as WanPipeline, less mean/std)
            else:
                video = self.pipe.decode_latents(latents)
            frames = self.pipe.video_processor.postprocess_video(video, output_type="np")
        synchronize(self.device)
        elapsed = time.perf_counter() - started
        del frames, video, latents
        return elapsed

    def close(self) -> None:
        self.pipe = self.transformer = self.vae = None
        self.prompt = self.negative = None
        free_memory(self.device)


def free_memory(device: str) -> None:
    import torch

    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()


def compile_blocks(bench: Bench, **options: Any) -> None:
    """Regional compilation (diffusers' `compile_repeated_blocks`, done by hand because
    CogVideoXTransformer3DModel names no `_repeated_blocks`): every transformer block compiled, one
    compiled graph shared by all of them, so compiling takes seconds rather than minutes."""
    for block in bench.blocks:
        block.compile(**options)


def uncompile_blocks(bench: Bench) -> None:
    import torch

    for block in bench.blocks:
        block._compiled_call_impl = None  # what nn.Module.compile set
    torch._dynamo.reset()


def job_caches(case: ModelCase) -> tuple[str, ...]:
    """The family's caches, its draft default first: from processing_job.families when that exists
    (the engine-families branch), else the same choices written here."""
    try:
        import importlib

        family = importlib.import_module(f"processing_job.families.{case.family.name}").FAMILY
        default = family.default_draft_cache
        return (default, *(c for c in family.caches if c != default))
    except Exception:  # not on this branch, or a different shape: use ours
        return case.family.caches


@contextlib.contextmanager
def job_cache(bench: Bench, kind: str) -> Iterator[None]:
    """The job's own configuration for the cache `kind` (processing_job.acceleration, or .speed on a
    tree without model families), enabled with diffusers' `enable_cache`, removed afterwards."""
    try:
        from processing_job.acceleration import transformer_cache
    except ImportError:
        transformer_cache = None
    if transformer_cache is not None:
        layout = bench.case.family.latent_layout
        with transformer_cache(bench.pipe, kind, guidance=True, latent_layout=layout) as applied:
            if applied is None:
                raise RuntimeError(f"the job applied no cache for {kind!r}")
            yield
        return
    from processing_job.speed import cache_config  # CogVideoX-only: its transformer_cache

    config = cache_config(kind, bench.pipe, guidance=True)
    if hasattr(config, "tensor_format"):
        config.tensor_format = bench.case.family.latent_layout
    bench.transformer.enable_cache(config)
    try:
        yield
    finally:
        bench.transformer.disable_cache()


def quantize_fp8(bench: Bench) -> None:
    """The job's `VIDEOBOT_QUANTIZE=fp8`: torchao's dynamic fp8 activations and weights."""
    from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, quantize_

    quantize_(bench.transformer, Float8DynamicActivationFloat8WeightConfig())
    bench.quantized = True


def fp8_unavailable(device: str) -> str | None:
    """Why fp8 can't run here, or None."""
    import torch

    if device != "cuda":
        return "fp8 needs a CUDA GPU of compute capability 8.9+ (L4, L40S, H100, H200)"
    if torch.cuda.get_device_capability() < (8, 9):
        return f"fp8 needs compute capability 8.9+, this card has {torch.cuda.get_device_capability()}"
    try:
        import torchao  # noqa: F401
    except ImportError:
        return "torchao is not importable (bench/gpu_device.sh carries its wheel)"
    return None


# --- measuring one model ------------------------------------------------------------------------


@dataclass
class Variant:
    name: str
    kind: str
    estimate: Callable[[], float]  # seconds, before it runs
    measure: Callable[[], Row]
    unavailable: str | None = None


def measure_model(
    case: ModelCase,
    run: Run,
    budget: Budget,
    *,
    device: str,
    smoke: bool,
    say: Callable[[str], None],
    learned: dict[str, float] | None = None,
) -> None:
    """Every variant of `case` that fits its budget, into `run.rows`; `learned` carries what one
    model's run teaches the next one's estimates (the time a compile took)."""
    import torch

    dtype = torch.float32 if smoke else torch.bfloat16
    peak = run.peak_tflops
    floor_step = case.flop_per_step / (peak * 1e12) if peak else None
    run.models[case.key] = {
        "name": case.name,
        "frames": case.frames,
        "height": case.height,
        "width": case.width,
        "tokens": case.tokens,
        "flop_per_step": case.flop_per_step,
        "floor_s_per_video": floor_step * STEPS if floor_step else None,
        "caches": list(job_caches(case)),
    }
    where = f"{case.frames} frames {case.width}×{case.height}"
    # Before the first measurement, a step is guessed at 40% of the peak (the published CogVideoX
    # timings imply 30–44%); on a CPU it's measured before anything is skipped.
    guess = floor_step / 0.4 if floor_step else 1.0
    build_guess = 15.0
    if not budget.allows(build_guess + 8 * guess):
        run.rows.append(Row(case.name, "(all)", "step", skipped=f"budget: {budget.left():.0f} s left"))
        say(f"{case.key}: skipped, {budget.left():.0f} s left in its budget")
        return

    say(f"{case.key}: building the transformer and VAE with random weights ({where})")
    started = time.perf_counter()
    try:
        bench = Bench(case, device, dtype, say)
    except Exception as error:
        say(f"{case.key}: building failed:\n{traceback.format_exc(limit=-4)}")
        free_memory(device)
        run.rows.append(Row(case.name, "(all)", "step", skipped=f"building failed: {error!r}"[:300]))
        return
    say(f"{case.key}: built in {time.perf_counter() - started:.1f} s")
    state: dict[str, Any] = {"step": None}
    learned = {} if learned is None else learned

    def step() -> float:
        return state["step"] or guess

    def compile_guess() -> float:
        """This model's compile took, or the last model's (blocks of about the same size), or a guess."""
        return state.get("compile") or learned.get("compile") or (30.0 if smoke else 45.0)

    def final_row(variant: str, intervals: list[float], compiled: bool, note: str = "") -> Row:
        timed = intervals[1:]
        per_step = statistics.median(timed)
        first = intervals[0]
        row = Row(
            case.name,
            variant,
            "step",
            seconds_per_step=per_step,
            seconds_per_video=per_step * STEPS,
            floor_ratio=per_step / floor_step if floor_step else None,
            speedup=state["step"] / per_step if state["step"] else 1.0,
            compile_s=max(first - per_step, 0.0) if compiled else None,
            note=note,
            extra={"intervals_s": intervals},
        )
        if max(timed) > 1.2 * min(timed):
            row.note = (row.note + "; " if row.note else "") + "steps varied >20%: median taken"
        return row

    def bf16() -> None:
        if bench.quantized:  # the later variants time bf16 weights
            bench.rebuild_transformer()

    def eager() -> Row:
        intervals = bench.denoise(1 + TIMED_STEPS)
        row = final_row(EAGER[1] if smoke else EAGER[0], intervals, False)
        state["step"] = row.seconds_per_step
        row.speedup = 1.0
        row.note = "the job's default"
        return row

    def compiled(mode: str | None, label: str, remember: dict | None = None) -> Callable[[], Row]:
        def measure() -> Row:
            options: dict[str, Any] = {"fullgraph": True}
            if smoke:
                options["backend"] = "eager"  # dynamo's tracing without inductor: the path, not speed
            elif mode:
                options["mode"] = mode
            bf16()
            compile_blocks(bench, **options)
            try:
                intervals = bench.denoise(1 + TIMED_STEPS)
            finally:
                uncompile_blocks(bench)
            row = final_row(label, intervals, True, "blocks compiled (regional)")
            if remember is not None:
                remember["compile"] = learned["compile"] = row.compile_s  # the next compiles' estimate
            return row

        return measure

    def fp8() -> Row:
        bf16()
        quantize_fp8(bench)
        compile_blocks(bench, fullgraph=True)
        try:
            intervals = bench.denoise(1 + TIMED_STEPS)
        finally:
            uncompile_blocks(bench)
        row = final_row(
            "fp8 + compile",
            intervals,
            True,
            "torchao Float8DynamicActivationFloat8WeightConfig (the job's fp8), blocks compiled",
        )
        # Quantized blocks take a little longer to compile: a fair ceiling for a plain compile.
        state["compile"] = learned["compile"] = row.compile_s
        return row

    caches = job_caches(case)
    schedule = CACHE_SCHEDULE_STEPS if not smoke else 4
    cache_base: dict[str, Any] = {}

    def schedule_run(cache: str | None) -> tuple[float, int]:
        """Average step over the short schedule, and the attention calls made."""
        with counting_attention() as calls:
            if cache is None:
                intervals = bench.denoise(schedule)
            else:
                with job_cache(bench, cache):
                    intervals = bench.denoise(schedule)
        return sum(intervals) / schedule, calls[0]

    def cache_row(cache: str) -> Callable[[], Row]:
        def measure() -> Row:
            bf16()
            if "step" not in cache_base:
                cache_base["step"], cache_base["calls"] = schedule_run(None)
            per_step, calls = schedule_run(cache)
            share = calls / cache_base["calls"] if cache_base["calls"] else None
            note = f"average step over a {schedule}-step schedule (eager)"
            if share is not None:
                note += f"; attention calls {share:.0%} of uncached"
            return Row(
                case.name,
                f"draft cache: {cache}" + (" (the family's default)" if cache == caches[0] else ""),
                "cache",
                seconds_per_step=per_step,
                seconds_per_video=per_step * DRAFT_STEPS,
                speedup=cache_base["step"] / per_step,
                note=note,
                extra={
                    "uncached_step_s": cache_base["step"],
                    "attention_share": share,
                    "schedule_steps": schedule,
                },
            )

        return measure

    def decode(tiled: bool) -> Callable[[], Row]:
        def measure() -> Row:
            if tiled:
                bench.vae.enable_tiling()
            try:
                seconds = bench.decode()
            finally:
                if tiled:
                    bench.vae.disable_tiling()
            note = (
                "tiled: the job's plan on 24–48 GB cards"
                if tiled
                else "whole frames: the job's plan on an 80 GB+ card"
            )
            return Row(
                case.name, "VAE decode" + (", tiled" if tiled else ""), "decode", None, seconds, note=note
            )

        return measure

    decode_state: dict[str, float] = {}

    def decode_estimate() -> float:
        if "whole" not in decode_state:
            warm, share = bench.decode_warmup()
            decode_state["whole"] = warm / share
            say(f"{case.key}: decode warm-up {warm:.1f} s ({share:.0%} of the latent frames)")
        return decode_state["whole"]

    # In order of importance; each runs if its estimate fits what is left of the model's budget.
    # fp8 + compile comes before compile alone: it is the fastest published configuration (the goal's
    # likely best), and when compiling is slow only one of them fits. fp8 replaces the weights: what
    # comes after it rebuilds a bf16 transformer first (seconds).
    rebuild = 5.0 if device == "cuda" else 0.0
    fp8_reason = fp8_unavailable(device)
    variants = [
        Variant(EAGER[1] if smoke else EAGER[0], "step", lambda: (1 + TIMED_STEPS) * step() * 1.5, eager),
        Variant("VAE decode", "decode", decode_estimate, decode(False)),
        Variant(f"draft cache: {caches[0]}", "cache", lambda: 2 * schedule * step(), cache_row(caches[0])),
        Variant(
            "fp8 + compile",
            "step",
            lambda: 1.2 * compile_guess() + 5 + (1 + TIMED_STEPS) * step(),
            fp8,
            unavailable=fp8_reason,
        ),
        Variant(
            "compile (mode default)",
            "step",
            lambda: compile_guess() + (1 + TIMED_STEPS) * step() + rebuild * bench.quantized,
            compiled(None, "compile (mode default)", state),
        ),
        *(
            Variant(
                f"draft cache: {cache}",
                "cache",
                lambda: schedule * step() + rebuild * bench.quantized,
                cache_row(cache),
            )
            for cache in caches[1:]
        ),
        Variant(
            "compile (max-autotune-no-cudagraphs)",
            "step",
            lambda: 180 + (1 + TIMED_STEPS) * step() + rebuild * bench.quantized,
            compiled("max-autotune-no-cudagraphs", "compile (max-autotune-no-cudagraphs)"),
            unavailable="smoke run: the mode only changes inductor's GEMM choice" if smoke else None,
        ),
        Variant("VAE decode, tiled", "decode", lambda: 1.5 * decode_estimate(), decode(True)),
    ]
    try:
        for variant in variants:
            if variant.unavailable:
                run.rows.append(Row(case.name, variant.name, variant.kind, skipped=variant.unavailable))
                say(f"{case.key}: {variant.name}: skipped ({variant.unavailable})")
                continue
            try:
                estimate = variant.estimate()
            except Exception as error:  # a decode warm-up that ran out of memory, say
                run.rows.append(
                    Row(case.name, variant.name, variant.kind, skipped=f"failed: {error!r}"[:300])
                )
                continue
            if not budget.allows(estimate):
                reason = f"budget: needs about {estimate:.0f} s, {budget.left():.0f} s left"
                run.rows.append(Row(case.name, variant.name, variant.kind, skipped=reason))
                say(f"{case.key}: {variant.name}: skipped ({reason})")
                continue
            say(f"{case.key}: {variant.name} (about {estimate:.0f} s)")
            started = time.perf_counter()
            try:
                row = variant.measure()
            except Exception as error:
                say(f"{case.key}: {variant.name} failed:\n{traceback.format_exc(limit=-4)}")
                free_memory(device)
                row = Row(case.name, variant.name, variant.kind, skipped=f"failed: {error!r}"[:300])
            run.rows.append(row)
            run.wall_s = budget.elapsed()
            checkpoint(run)
            say(f"{case.key}: {describe_row(row)} [{time.perf_counter() - started:.0f} s]")
    finally:
        bench.close()
        with contextlib.suppress(Exception):
            torch._dynamo.reset()


def measure_export(case: ModelCase, run: Run, budget: Budget, say: Callable[[str], None]) -> None:
    """The job's writer (H.264, CRF 18, faststart) on frames of the output size; once, cold."""
    from bench.render import _moving_picture

    name = f"export ({case.frames} frames {case.width}×{case.height}, {case.fps} fps)"
    pixels = case.frames * case.height * case.width
    estimate = pixels / 4e6  # about 4 Mpixel/s on 2 cores here: a generous guess for 16
    try:
        from processing_job.export import ffmpeg_exe, write_mp4

        ffmpeg_exe()
    except Exception as error:
        run.rows.append(Row(case.name, name, "export", skipped=f"no ffmpeg: {error!r}"[:300]))
        return
    if not budget.allows(estimate):
        run.rows.append(Row(case.name, name, "export", skipped=f"budget: {budget.left():.0f} s left"))
        return
    frames = _moving_picture(case.frames, case.height, case.width)
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as scratch:
        path = Path(scratch) / "video.mp4"
        started = time.perf_counter()
        write_mp4(frames, path, fps=case.fps)
        seconds = time.perf_counter() - started
        size = path.stat().st_size
    row = Row(
        case.name,
        name,
        "export",
        seconds_per_video=seconds,
        note=f"the job's writer on {os.cpu_count()} CPU cores, imageio-ffmpeg {ffmpeg_version()}; "
        f"{size / 1e6:.1f} MB",
    )
    run.rows.append(row)
    say(f"export: {describe_row(row)}")


def ffmpeg_version() -> str:
    import imageio_ffmpeg

    return f"{imageio_ffmpeg.__version__} (ffmpeg {imageio_ffmpeg.get_ffmpeg_version()})"


# --- the report ---------------------------------------------------------------------------------


def _f(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def describe_row(row: Row) -> str:
    if row.skipped:
        return f"{row.model}: {row.variant}: skipped ({row.skipped})"
    parts = [f"{row.model}: {row.variant}:"]
    if row.seconds_per_step is not None:
        parts.append(f"{row.seconds_per_step:.3f} s/step")
    if row.seconds_per_video is not None:
        parts.append(f"{row.seconds_per_video:.1f} s per video")
    if row.floor_ratio is not None:
        parts.append(f"{row.floor_ratio:.2f}× floor")
    if row.compile_s is not None:
        parts.append(f"compile ≈{row.compile_s:.0f} s")
    return " ".join(parts)


def goals(run: Run) -> list[tuple[str, bool | None, str]]:
    """(goal, passed or None when not measured, the figures) for each goal."""
    out: list[tuple[str, bool | None, str]] = []
    five = COGVIDEOX_5B.name
    finals = [r for r in run.rows if r.model == five and r.kind == "step" and not r.skipped]
    best = min(finals, key=lambda r: r.seconds_per_video or 1e30, default=None)
    label = (
        f"{five}, 49 frames 720×480, 50 steps ≤ {GOAL_FINAL_S:.0f} s (≤ {GOAL_FLOOR_RATIO}× its FLOP floor)"
    )
    if run.smoke:
        out.append((label, None, "a smoke run: scaled-down models"))
    elif best is None or best.seconds_per_video is None:
        out.append((label, None, "not measured"))
    elif best.floor_ratio is None:
        out.append((label, None, f"{best.seconds_per_video:.1f} s on {run.card}, whose peak isn't known"))
    else:
        passed = best.seconds_per_video <= GOAL_FINAL_S and best.floor_ratio <= GOAL_FLOOR_RATIO
        out.append(
            (
                label,
                passed,
                f"best {best.seconds_per_video:.1f} s ({best.variant}, "
                f"{_f(best.floor_ratio)}× floor) on {run.card}; best published 75 s (fp8 + compile, H100)",
            )
        )
    for name in dict.fromkeys(r.model for r in run.rows):
        eager = next((r for r in run.rows if r.model == name and r.variant in EAGER and not r.skipped), None)
        draft = next(
            (
                r
                for r in run.rows
                if r.model == name and r.kind == "cache" and not r.skipped and "default" in r.variant
            ),
            None,
        )
        label = f"{name}: a draft ({DRAFT_STEPS} steps + the default cache) ≤ ¼ of a final ({STEPS} steps)"
        if eager is None or draft is None or not eager.seconds_per_video or draft.seconds_per_video is None:
            out.append((label, None, "not measured"))
            continue
        share = draft.seconds_per_video / eager.seconds_per_video
        figures = f"{draft.seconds_per_video:.1f} s ÷ {eager.seconds_per_video:.1f} s = {share:.2f}"
        if run.smoke:
            out.append((label, None, f"a smoke run: scaled-down models ({figures})"))
            continue
        out.append((label, share <= GOAL_DRAFT_SHARE, f"{figures} (both eager: the job's defaults)"))
    return out


def goal_lines(run: Run) -> list[str]:
    mark = {True: "PASS", False: "FAIL", None: "NOT MEASURED"}
    return [f"goal {mark[passed]}: {label}: {figures}" for label, passed, figures in goals(run)]


def markdown(run: Run) -> str:
    """The section for docs/benchmarks.md (without the markers)."""
    env = run.environment
    icon = {True: "✅ met", False: "❌ missed", None: "— not measured"}
    lines = [
        "## GPU proof (`make bench-gpu`)",
        "",
    ]
    if run.smoke:
        lines += [
            "**CPU SMOKE RUN: scaled-down configurations (2 layers, tiny sizes) on the CPU; this proves the "
            "harness, not a figure.**",
            "",
        ]
    peak = f"{run.peak_tflops:.0f} TFLOP/s dense bf16" if run.peak_tflops else "no peak known for it"
    lines += [
        f"Measured by `python -m bench.gpu` on **{run.card}** ({peak}; torch {env.get('torch')}, CUDA "
        f"{env.get('cuda')}, diffusers {env.get('diffusers')}, torchao {env.get('torchao')}, Python "
        f"{env.get('python')}), {run.started}, {_f(run.wall_s, 0)} s in all (budget {run.budget_s:.0f} s)."
        + (
            f" A bf16 8192³ matrix product ran at {env['matmul_tflops']:.0f} TFLOP/s on this card."
            if env.get("matmul_tflops")
            else ""
        ),
        "",
        "- **Random weights at the real configurations** (listed in bench/gpu.py; no weights are "
        "reachable): the time of a step depends on shapes, not values. Prompts are random embeddings "
        "of the real shape (the text encoder is not timed).",
        f"- **Per video = extrapolated**: the median of {TIMED_STEPS} timed steps (CUDA events, after a "
        f"warm-up step) × {STEPS} steps for a final render; a draft cache's average step over a "
        f"{CACHE_SCHEDULE_STEPS}-step schedule × {DRAFT_STEPS} draft steps. Decode and export are timed "
        "once, whole. Not included: loading weights, text encoding, the instance's start.",
        "- **× FLOP floor**: time ÷ (FLOPs of the steps ÷ the card's dense bf16 peak); FLOPs per step as in "
        "the prediction above (CogVideoX) and bench/gpu.py (Wan). fp8 has twice the peak, so it can go "
        "below 1.",
        "- Compile: the transformer blocks, regionally (one graph shared by every block); the time to "
        "compile is the first step's excess over a steady step. The job's `VIDEOBOT_COMPILE` compiles the "
        "whole transformer instead, which takes longer to compile.",
        "",
        "### Goals",
        "",
        *(f"- {icon[passed]}: {label} — {figures}" for label, passed, figures in goals(run)),
        "",
        "### Per model",
        "",
        "| model | video tokens | FLOP per step | floor, 50 steps (s) | caches the job offers |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for info in run.models.values():
        lines.append(
            f"| {info['name']} ({info['frames']} frames {info['width']}×{info['height']}) | "
            f"{info['tokens']:,} | {info['flop_per_step']:.2e} | {_f(info['floor_s_per_video'], 1)} | "
            f"{', '.join(info['caches'])} |"
        )
    lines += [
        "",
        "### Denoising",
        "",
        "| model | variant | s per step | s per video | × FLOP floor | speed-up | compile (s) | note |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    models = list(dict.fromkeys(row.model for row in run.rows))
    denoising = sorted(
        (row for row in run.rows if row.kind in ("step", "cache") and not row.skipped),
        key=lambda row: (models.index(row.model), row.kind != "step"),  # final renders, then drafts
    )
    for row in denoising:
        video = _f(row.seconds_per_video, 1) + (f" ({DRAFT_STEPS} steps)" if row.kind == "cache" else "")
        lines.append(
            f"| {row.model} | {row.variant} | {_f(row.seconds_per_step, 3)} | {video} | "
            f"{_f(row.floor_ratio)} | {_f(row.speedup)}{'×' if row.speedup else ''} | "
            f"{_f(row.compile_s, 0)} | {row.note} |"
        )
    lines += [
        "",
        "### VAE decode and export",
        "",
        "| model | phase | s per video | note |",
        "| --- | --- | ---: | --- |",
    ]
    for row in run.rows:
        if row.kind in ("decode", "export") and not row.skipped:
            lines.append(f"| {row.model} | {row.variant} | {_f(row.seconds_per_video, 1)} | {row.note} |")
    skipped = [row for row in run.rows if row.skipped]
    if skipped:
        lines += ["", "### Not measured in this run", ""]
        lines += [f"- {row.model}: {row.variant} — {row.skipped}" for row in skipped]
    return "\n".join(lines).rstrip() + "\n"


def write_block(path: Path, section: str) -> None:
    """`section` into `path` between the markers: replacing the block there, or appended."""
    text = path.read_text() if path.exists() else ""
    block = f"{START_MARKER}\n{section.strip()}\n{END_MARKER}"
    start, end = text.find(START_MARKER), text.find(END_MARKER)
    if start != -1 and end > start:
        text = text[:start] + block + text[end + len(END_MARKER) :]
    else:
        text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + block + "\n"
    path.write_text(text)


def read_block(text: str) -> str | None:
    """The block (markers included) in `text`, or None."""
    start, end = text.find(START_MARKER), text.find(END_MARKER)
    if start == -1 or end < start:
        return None
    return text[start : end + len(END_MARKER)]


def keep_block(previous: str, report: str) -> str:
    """`report` with the GPU block of the `previous` document appended (what `make bench` keeps)."""
    block = read_block(previous)
    if block is None or read_block(report) is not None:
        return report
    return report.rstrip("\n") + "\n\n" + block + "\n"


# --- the command line ---------------------------------------------------------------------------


def environment(device: str) -> dict[str, Any]:
    import diffusers
    import torch

    try:
        import torchao

        torchao_version = torchao.__version__
    except ImportError:
        torchao_version = "not installed"
    env = {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "diffusers": diffusers.__version__,
        "torchao": torchao_version,
        "python": platform.python_version(),
        "cpu_cores": os.cpu_count(),
    }
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        env["capability"] = list(torch.cuda.get_device_capability())
        env["gpu_memory_gib"] = round(props.total_memory / 2**30, 1)
        env["multiprocessors"] = props.multi_processor_count
        env["matmul_tflops"] = round(matmul_tflops(), 1)
    return env


def matmul_tflops(size: int = 8192, repeats: int = 10) -> float:
    """The card's bf16 matrix rate as found (random data, CUDA events, after warm-up): the ceiling
    the datasheet's peak is compared with (METHOD.md: measure the ceilings on the machine)."""
    import torch

    a = torch.randn(size, size, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(size, size, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(repeats):
        a @ b
    end.record()
    torch.cuda.synchronize()
    seconds = start.elapsed_time(end) / 1000 / repeats
    del a, b
    torch.cuda.empty_cache()
    return 2 * size**3 / seconds / 1e12


def measure(*, smoke: bool, budget_s: float, only: list[str] | None, say: Callable[[str], None]) -> Run:
    import torch

    started_at = time.monotonic()
    device = "cuda" if not smoke else "cpu"
    card = torch.cuda.get_device_name() if device == "cuda" else f"CPU ({platform.processor() or 'unknown'})"
    run = Run(
        card=card,
        smoke=smoke,
        started=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        environment=environment(device),
        peak_tflops=gpu_peak_tflops(card) if device == "cuda" else None,
        budget_s=budget_s,
    )
    budget = Budget(budget_s, started=_PROCESS_START if not smoke else started_at)
    cases = [c for c in CASES if not only or c.key in only]
    if smoke:
        cases = [smoke_case(c) for c in cases]
        torch.manual_seed(0)
    say(
        f"bench.gpu: {card}, peak {run.peak_tflops or 'unknown'} TFLOP/s, budget {budget_s:.0f} s "
        f"({budget.elapsed():.0f} s spent starting)"
    )
    learned: dict[str, float] = {}
    for index, case in enumerate(cases):
        reserve = sum(c.reserve_s for c in cases[index + 1 :]) + (0 if smoke else EXPORT_RESERVE_S)
        budget.start_model(reserve)
        measure_model(case, run, budget, device=device, smoke=smoke, say=say, learned=learned)
        run.wall_s = budget.elapsed()
        checkpoint(run)
    budget.start_model(0)
    for case in cases:
        measure_export(case, run, budget, say)
    run.wall_s = budget.elapsed()
    return run


def checkpoint(run: Run) -> None:
    """The raw figures and the section so far, under $OUT: a run stopped by its timeout keeps them."""
    out = os.environ.get("OUT")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / JSON_NAME).write_text(run.to_json())
        (Path(out) / MARKDOWN_NAME).write_text(markdown(run))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu-smoke", action="store_true", help="the whole harness on the CPU, scaled down")
    parser.add_argument("--from-json", type=Path, help="write the section of a saved run (no measuring)")
    parser.add_argument("--docs", type=Path, help=f"where the section goes (default on a GPU: {DOCS})")
    parser.add_argument("--json", type=Path, help="also write the raw figures here (and to $OUT if set)")
    parser.add_argument("--budget-s", type=float, default=DEFAULT_BUDGET_S, help="the whole run's deadline")
    parser.add_argument("--only", nargs="+", choices=[c.key for c in CASES], help="these models only")
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(f"[{time.monotonic() - _PROCESS_START:6.1f} s] {line}", flush=True)

    if args.from_json:
        run = Run.from_json(args.from_json.read_text())
        docs = args.docs or DOCS
        write_block(docs, markdown(run))
        print(f"bench.gpu: wrote the section of {args.from_json} ({run.card}) into {docs}")
        print("\n".join(goal_lines(run)))
        return 0
    if not args.cpu_smoke:
        import torch

        if not torch.cuda.is_available():
            print(
                "bench.gpu needs a CUDA GPU: it times CogVideoX-5B, Wan 2.2 TI2V-5B and CogVideoX1.5-5B "
                "at real sizes (bf16 eager, torch.compile, fp8, the draft caches, VAE decode, export) "
                "against the card's FLOP floor; `--cpu-smoke` runs the harness here, scaled down."
            )
            return 0
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.set_verbosity_error()  # e.g. a warning at every cast of a model built from a config
    run = measure(smoke=args.cpu_smoke, budget_s=args.budget_s, only=args.only, say=say)
    checkpoint(run)
    if args.json:
        args.json.write_text(run.to_json())
    section = markdown(run)
    docs = args.docs or (None if args.cpu_smoke else DOCS)
    if docs is not None:
        write_block(docs, section)
        say(f"wrote the section into {docs}")
    print(section)
    for line in goal_lines(run):
        print(line)
    say(f"done in {run.wall_s:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
