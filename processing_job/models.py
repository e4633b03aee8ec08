"""The model registry: every model we can run (CogVideoX and Wan), with its real defaults and rules.

One table, read by the bot (to validate a request before anything is launched, and to tell its
prompt writer how this model likes prompts: `prompt_style`, `max_prompt_tokens`) and by the job (to
load the right family's pipelines, processing_job/families/). Nothing here imports torch, so the bot
can share it. Adding a model family means a few entries here, one module in families/ and its tests.

The real entries follow the CogVideo model table (THUDM/CogVideo README): 1.0 models render 8N+1
frames (N ≤ 6) at 8 fps and 720×480; 1.5 models render 16N+1 frames (N ≤ 10) at 16 fps with the
short side 768 and the long side up to 1360 (the pipeline's own 2400-px default is never used: the
spec always carries a size). The `tiny*` entries are the same pipelines with a few thousand random
weights, one per family, built locally so every family runs offline in tests.

Wan (Wan-AI's Diffusers checkpoints): 2.2 TI2V-5B renders 4N+1 frames (121 = 5 s) at 24 fps and
1280×704 or 704×1280, text *and* image to video from one checkpoint, in bf16 on a 24 GB card with
model offload (48 GB without); 2.1 T2V-1.3B renders 81 frames at 16 fps and 832×480 (8 GB). Their
UMT5 text encoder reads 512 tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

TINY_MODEL = "tiny"
TINY_WAN_MODEL = "tiny-wan"
T2V_PIPELINE = "CogVideoXPipeline"
I2V_PIPELINE = "CogVideoXImageToVideoPipeline"
WAN_PIPELINE = "WanPipeline"
COGVIDEOX = "cogvideox"
WAN = "wan"
# What a render does: text to video, image to video, video to video (a restyle), and extend (continue
# a clip from its last frame with an image-to-video model, then join). `join` only joins clips, and
# `stages` only runs the stages (smooth, upscale) on a clip: neither loads a model.
T2V, I2V, V2V, EXTEND, JOIN = "t2v", "i2v", "v2v", "extend", "join"
STAGES = "stages"
RENDER_MODES = (T2V, I2V, V2V, EXTEND)

COGVIDEOX_PROMPT_STYLE = (
    "CogVideoX was trained on long, detailed English video captions. Write one flowing paragraph of "
    "three to five sentences (about 80-120 words, well under the token limit) in the present tense: "
    "the subject and what it does first, then the setting, the lighting and colours, and the camera "
    "(shot size and movement). Describe only what is seen; no lists, no negations, no dialogue, no "
    "on-screen text."
)
WAN_PROMPT_STYLE = (
    "Wan follows structured cinematic prompts, in English or Chinese. Write one paragraph of about "
    "80-150 words: the subject and its action first, with the motion spelled out (direction, speed), "
    "then the scene, then light and colour (time of day, light source, palette), then the camera in "
    "film terms (close-up, wide shot, low angle, slow dolly in, tracking shot) and the visual style. "
    "Keep one continuous shot; put what to avoid in the negative prompt, never in the prompt."
)


@dataclass(frozen=True)
class ModelInfo:
    """What the bot and the job need to know about one model."""

    key: str
    name: str
    hub_id: str | None
    mode: str  # the mode a session with this model starts in: "t2v" or "i2v"
    pipeline: str  # the diffusers pipeline class its checkpoint is saved as (model_index.json)
    dtype: str  # torch dtype name the weights run in on a GPU
    num_frames: int
    frame_step: int  # frames must be frame_step * N + 1
    max_frames: int
    fps: int
    height: int
    width: int
    num_inference_steps: int
    guidance_scale: float
    # The text encoder's limit: the job encodes this many tokens and reports what was cut; the bot's
    # prompt writer keeps under it.
    max_prompt_tokens: int
    # Allowed (height, width) pairs; empty means the rule below.
    sizes: tuple[tuple[int, int], ...] = ()
    size_multiple: int = 16  # the VAE's 8x downsampling times the transformer's 2x2 patches
    max_pixels: int = 480 * 720
    # With no `sizes`: the shorter side must be exactly `short_side` (when set) and neither side may
    # exceed `max_side` (when set).
    short_side: int | None = None
    max_side: int | None = None
    min_gpu_memory_gb: int = 0
    use_dynamic_cfg: bool = False
    aliases: tuple[str, ...] = field(default_factory=tuple)
    # Built locally with random weights instead of downloaded (the offline test models).
    built_locally: bool = False
    # Text-to-video models name the model that animates a picture in their family (image sessions).
    image_model: str | None = None
    # Denoising steps for a quick draft preview (quality="draft"); the job adds a cache on top.
    draft_steps: int | None = None
    # The model family (a module in processing_job/families/) that checks, encodes, denoises, decodes.
    family: str = COGVIDEOX
    # Every mode it renders (t2v, i2v, v2v, extend); empty means just `mode`. Extend needs i2v.
    modes: tuple[str, ...] = ()
    # How this model likes its prompts written: a paragraph for the bot's prompt writer.
    prompt_style: str = COGVIDEOX_PROMPT_STYLE
    # The longest clip that extending may grow to, in seconds.
    max_total_seconds: float = 30.0
    # The SageMaker instance it is meant to run on (GPU memory `min_gpu_memory_gb` or more).
    instance: str | None = None

    def __post_init__(self) -> None:
        if not self.modes:
            object.__setattr__(self, "modes", (self.mode,))

    def renders(self, mode: str) -> bool:
        """Whether this model renders `mode` (extending is image-to-video from a clip's last frame)."""
        return (I2V if mode == EXTEND else mode) in self.modes

    def frames_for_seconds(self, seconds: float) -> int:
        """The nearest allowed frame count for a clip of about `seconds` seconds."""
        steps = max(1, round(seconds * self.fps / self.frame_step))
        return min(self.max_frames, steps * self.frame_step + 1)

    def allowed_frame_counts(self) -> list[int]:
        return list(range(self.frame_step + 1, self.max_frames + 1, self.frame_step))

    def size_problems(self, height: int, width: int) -> list[str]:
        """Why this model can't render `width`×`height`, one sentence per problem; [] when it can."""
        if self.sizes:
            if (height, width) in self.sizes:
                return []
            allowed = ", ".join(f"{w}×{h}" for h, w in self.sizes)
            return [f"{self.name} renders at {allowed} (width×height), not {width}×{height}."]
        problems = []
        for label, value in (("height", height), ("width", width)):
            if value <= 0 or value % self.size_multiple:
                problems.append(
                    f"The {label} must be a positive multiple of {self.size_multiple} pixels, not {value}."
                )
        if problems:
            return problems
        short = min(height, width)
        if self.short_side is not None and short != self.short_side:
            problems.append(f"{self.name} needs a shorter side of {self.short_side} pixels, not {short}.")
        if self.max_side is not None and max(height, width) > self.max_side:
            problems.append(
                f"{self.name} renders sides up to {self.max_side} pixels, not {max(height, width)}."
            )
        if not problems and height * width > self.max_pixels:
            problems.append(f"{width}×{height} is larger than {self.name} allows ({self.max_pixels} pixels).")
        return problems

    def allows_size(self, height: int, width: int) -> bool:
        return not self.size_problems(height, width)

    def candidate_sizes(self) -> list[tuple[int, int]]:
        """The (height, width) pairs worth offering: every allowed one for a fixed list or a
        short-side rule, else the default size and its transpose."""
        if self.sizes:
            return list(self.sizes)
        if self.short_side is not None and self.max_side is not None:
            longs = range(self.short_side, self.max_side + 1, self.size_multiple)
            landscape = [(self.short_side, long) for long in longs]
            portrait = [(long, self.short_side) for long in longs if long != self.short_side]
            return [size for size in landscape + portrait if self.allows_size(*size)]
        sizes = [(self.height, self.width), (self.width, self.height)]
        return [size for size in dict.fromkeys(sizes) if self.allows_size(*size)]

    def size_for_aspect(self, width: int, height: int) -> tuple[int, int]:
        """The allowed (height, width) closest in shape to a `width`×`height` picture, so cropping it
        to the video loses the least; the model's default size when nothing is closer."""
        if width <= 0 or height <= 0:
            return self.height, self.width
        wanted = math.log(width / height)
        best = (self.height, self.width)
        best_gap = abs(math.log(best[1] / best[0]) - wanted)
        for h, w in self.candidate_sizes():
            gap = abs(math.log(w / h) - wanted)
            if gap < best_gap - 1e-9:
                best, best_gap = (h, w), gap
        return best


def _cogvideox_10(**values: object) -> ModelInfo:
    """A CogVideoX 1.0 model: 8N+1 frames up to 49 at 8 fps, 720×480, 50 steps, guidance 6."""
    defaults: dict[str, object] = {
        "num_frames": 49,
        "frame_step": 8,
        "max_frames": 49,
        "fps": 8,
        "height": 480,
        "width": 720,
        "num_inference_steps": 50,
        "guidance_scale": 6.0,
        "max_prompt_tokens": 226,
        "sizes": ((480, 720),),
        "draft_steps": 20,
        "instance": "ml.g6e.2xlarge",
    }
    return ModelInfo(**{**defaults, **values})  # type: ignore[arg-type]


def _cogvideox_15(**values: object) -> ModelInfo:
    """A CogVideoX 1.5 model: 16N+1 frames up to 161 at 16 fps, short side 768, long side ≤ 1360."""
    defaults: dict[str, object] = {
        "dtype": "bfloat16",
        "num_frames": 81,
        "frame_step": 16,
        "max_frames": 161,
        "fps": 16,
        "height": 768,
        "width": 1360,
        "num_inference_steps": 50,
        "guidance_scale": 6.0,
        "max_prompt_tokens": 224,
        "short_side": 768,
        "max_side": 1360,
        "max_pixels": 768 * 1360,
        "min_gpu_memory_gb": 40,
        "use_dynamic_cfg": True,
        "draft_steps": 20,
        "instance": "ml.g6e.2xlarge",
    }
    return ModelInfo(**{**defaults, **values})  # type: ignore[arg-type]


def _wan(**values: object) -> ModelInfo:
    """A Wan model: 4N+1 frames, UMT5 text encoder (512 tokens), bf16, guidance 5, 50 steps."""
    defaults: dict[str, object] = {
        "family": WAN,
        "mode": T2V,
        "pipeline": WAN_PIPELINE,
        "dtype": "bfloat16",
        "frame_step": 4,
        "num_inference_steps": 50,
        "guidance_scale": 5.0,
        "max_prompt_tokens": 512,
        "draft_steps": 20,
        "prompt_style": WAN_PROMPT_STYLE,
    }
    return ModelInfo(**{**defaults, **values})  # type: ignore[arg-type]


def _tiny(**values: object) -> ModelInfo:
    """An offline test model: built locally from a tiny config (see tiny.py), float32, 4 steps."""
    defaults: dict[str, object] = {
        "hub_id": None,
        "dtype": "float32",
        "num_inference_steps": 4,
        "guidance_scale": 6.0,
        "max_prompt_tokens": 226,
        "built_locally": True,
        "draft_steps": 2,
    }
    return ModelInfo(**{**defaults, **values})  # type: ignore[arg-type]


REGISTRY: dict[str, ModelInfo] = {
    info.key: info
    for info in (
        _tiny(
            key=TINY_MODEL,
            name="tiny CogVideoX (random weights, offline test model)",
            mode="t2v",
            pipeline=T2V_PIPELINE,
            num_frames=49,
            frame_step=8,
            max_frames=49,
            fps=8,
            height=128,
            width=192,
            image_model="tiny-i2v",
            modes=(T2V, V2V),
        ),
        _tiny(
            key="tiny-i2v",
            name="tiny CogVideoX image-to-video (random weights, offline test model)",
            mode="i2v",
            pipeline=I2V_PIPELINE,
            num_frames=49,
            frame_step=8,
            max_frames=49,
            fps=8,
            height=128,
            width=192,
            # Like CogVideoX-5B-I2V, its learned positional embeddings fix the size.
            sizes=((128, 192),),
            use_dynamic_cfg=True,
        ),
        _tiny(
            key="tiny-1.5",
            name="tiny CogVideoX 1.5 (random weights, offline test model)",
            mode="t2v",
            pipeline=T2V_PIPELINE,
            num_frames=33,
            frame_step=16,
            max_frames=81,
            fps=16,
            height=96,
            width=160,
            max_side=384,
            use_dynamic_cfg=True,
            image_model="tiny-1.5-i2v",
        ),
        _tiny(
            key="tiny-1.5-i2v",
            name="tiny CogVideoX 1.5 image-to-video (random weights, offline test model)",
            mode="i2v",
            pipeline=I2V_PIPELINE,
            num_frames=33,
            frame_step=16,
            max_frames=81,
            fps=16,
            height=96,
            width=160,
            max_side=384,
            use_dynamic_cfg=True,
        ),
        _cogvideox_10(
            key="cogvideox-2b",
            name="CogVideoX-2B",
            hub_id="THUDM/CogVideoX-2b",
            mode="t2v",
            pipeline=T2V_PIPELINE,
            dtype="float16",  # trained in fp16
            min_gpu_memory_gb=18,
            aliases=("2b",),
            # The 2B family has no image-to-video model; the 5B one animates pictures.
            image_model="cogvideox-5b-i2v",
            modes=(T2V, V2V),
            instance="ml.g5.2xlarge",
        ),
        _cogvideox_10(
            key="cogvideox-5b",
            name="CogVideoX-5B",
            hub_id="THUDM/CogVideoX-5b",
            mode="t2v",
            pipeline=T2V_PIPELINE,
            dtype="bfloat16",
            min_gpu_memory_gb=26,
            use_dynamic_cfg=True,
            aliases=("5b",),
            image_model="cogvideox-5b-i2v",
            modes=(T2V, V2V),
        ),
        _cogvideox_10(
            key="cogvideox-5b-i2v",
            name="CogVideoX-5B image-to-video",
            hub_id="THUDM/CogVideoX-5b-I2V",
            mode="i2v",
            pipeline=I2V_PIPELINE,
            dtype="bfloat16",
            min_gpu_memory_gb=26,
            use_dynamic_cfg=True,
            aliases=("5b-i2v",),
        ),
        _cogvideox_15(
            key="cogvideox1.5-5b",
            name="CogVideoX1.5-5B",
            hub_id="THUDM/CogVideoX1.5-5B",
            mode="t2v",
            pipeline=T2V_PIPELINE,
            aliases=("1.5", "1.5-5b"),
            image_model="cogvideox1.5-5b-i2v",
        ),
        _cogvideox_15(
            key="cogvideox1.5-5b-i2v",
            name="CogVideoX1.5-5B image-to-video",
            hub_id="THUDM/CogVideoX1.5-5B-I2V",
            mode="i2v",
            pipeline=I2V_PIPELINE,
            aliases=("1.5-i2v", "1.5-5b-i2v"),
        ),
        _tiny(
            key=TINY_WAN_MODEL,
            name="tiny Wan (random weights, offline test model)",
            family=WAN,
            mode=T2V,
            # Like Wan 2.2 TI2V-5B: one checkpoint for text, image and video to video.
            modes=(T2V, I2V, V2V),
            pipeline=WAN_PIPELINE,
            num_frames=9,
            frame_step=4,
            max_frames=33,
            fps=24,
            height=64,
            width=96,
            max_side=256,
            guidance_scale=5.0,
            max_prompt_tokens=512,
            prompt_style=WAN_PROMPT_STYLE,
            image_model=TINY_WAN_MODEL,
            max_total_seconds=3.0,
        ),
        _wan(
            key="wan2.2-5b",
            name="Wan 2.2 TI2V-5B",
            hub_id="Wan-AI/Wan2.2-TI2V-5B-Diffusers",
            modes=(T2V, I2V, V2V),
            num_frames=121,
            max_frames=121,
            fps=24,
            height=704,
            width=1280,
            sizes=((704, 1280), (1280, 704)),
            # Its VAE compresses 16× and the transformer patches 2×2.
            size_multiple=32,
            max_pixels=704 * 1280,
            # Fits a 24 GB card (ml.g5.2xlarge) with model offload and VAE tiling; 48 GB runs it whole.
            min_gpu_memory_gb=24,
            instance="ml.g6e.2xlarge",
            aliases=("wan", "wan2.2", "wan-5b", "wan2.2-ti2v-5b"),
            image_model="wan2.2-5b",
        ),
        _wan(
            key="wan2.1-1.3b",
            name="Wan 2.1 T2V-1.3B",
            hub_id="Wan-AI/Wan2.1-T2V-1.3B-Diffusers",
            modes=(T2V, V2V),
            num_frames=81,
            max_frames=81,
            fps=16,
            height=480,
            width=832,
            sizes=((480, 832), (832, 480)),
            max_pixels=480 * 832,
            min_gpu_memory_gb=8,
            instance="ml.g5.2xlarge",
            aliases=("wan2.1", "wan-1.3b"),
        ),
    )
}


class UnknownModelError(ValueError):
    pass


def resolve_model(name: str) -> ModelInfo:
    """Find a model by key, alias or hub id (case-insensitive); raise with the choices if there is none."""
    wanted = name.strip().lower()
    for info in REGISTRY.values():
        # The hub id too: the design's example is VIDEOBOT_MODEL=THUDM/CogVideoX-2b.
        if wanted == info.key or wanted in info.aliases or (info.hub_id and wanted == info.hub_id.lower()):
            return info
    # The offline test models resolve, but aren't offered: they are an installation's internals.
    choices = ", ".join(
        sorted({n for i in REGISTRY.values() if not i.built_locally for n in (i.key, *i.aliases)})
    )
    raise UnknownModelError(f"I don't know the model '{name}'. Choose one of: {choices}.")


def image_model_for(name: str) -> ModelInfo:
    """The image-to-video model to use when a person picked `name` and then shared a picture."""
    info = resolve_model(name)
    if info.renders(I2V):
        return info
    if info.image_model is None:
        raise UnknownModelError(f"{info.name} has no image-to-video variant.")
    return resolve_model(info.image_model)


def model_for_mode(name: str, mode: str) -> ModelInfo:
    """The model of `name`'s family that renders `mode`: itself, or for a picture or an extension its
    image-to-video sibling; UnknownModelError with a sentence when the family has none."""
    info = resolve_model(name)
    if info.renders(mode):
        return info
    if mode in (I2V, EXTEND):
        return image_model_for(name)
    what = {V2V: "restyle a video", T2V: "render from text alone"}.get(mode, f"render in {mode} mode")
    others = ", ".join(i.key for i in REGISTRY.values() if i.renders(mode) and not i.built_locally)
    raise UnknownModelError(f"{info.name} can't {what}; these models can: {others}.")
