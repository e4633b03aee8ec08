"""The model registry: every CogVideoX variant we can run, with its real defaults and rules.

One table, read by the bot (to validate a request before anything is launched) and by the job (to
load and call the right pipeline). Nothing here imports torch, so the bot can share it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TINY_MODEL = "tiny"


@dataclass(frozen=True)
class ModelInfo:
    """What the bot and the job need to know about one model."""

    key: str
    name: str
    hub_id: str | None
    mode: str  # "t2v" or "i2v"
    pipeline: str  # the diffusers pipeline class
    dtype: str  # torch dtype name the weights run in on a GPU
    num_frames: int
    frame_step: int  # frames must be frame_step * N + 1
    max_frames: int
    fps: int
    height: int
    width: int
    num_inference_steps: int
    guidance_scale: float
    max_prompt_tokens: int
    # Allowed (height, width) pairs; empty means any multiple of size_multiple up to max_pixels.
    sizes: tuple[tuple[int, int], ...] = ()
    size_multiple: int = 16  # the VAE's 8x downsampling times the transformer's 2x2 patches
    max_pixels: int = 480 * 720
    min_gpu_memory_gb: int = 0
    use_dynamic_cfg: bool = False
    aliases: tuple[str, ...] = field(default_factory=tuple)
    # Built locally with random weights instead of downloaded (the offline test model).
    built_locally: bool = False
    # Text-to-video models name the model that animates a picture in their family (image sessions).
    image_model: str | None = None
    # Denoising steps for a quick draft preview (speed="draft").
    draft_steps: int | None = None

    @property
    def default_seconds(self) -> float:
        return (self.num_frames - 1) / self.fps

    def frames_for_seconds(self, seconds: float) -> int:
        """The nearest allowed frame count for a clip of about `seconds` seconds."""
        steps = max(1, round(seconds * self.fps / self.frame_step))
        return min(self.max_frames, steps * self.frame_step + 1)

    def allowed_frame_counts(self) -> list[int]:
        return list(range(self.frame_step + 1, self.max_frames + 1, self.frame_step))


REGISTRY: dict[str, ModelInfo] = {
    info.key: info
    for info in (
        ModelInfo(
            key=TINY_MODEL,
            name="tiny CogVideoX (random weights, offline test model)",
            hub_id=None,
            mode="t2v",
            pipeline="CogVideoXPipeline",
            dtype="float32",
            num_frames=49,
            frame_step=8,
            max_frames=49,
            fps=8,
            height=128,
            width=192,
            num_inference_steps=4,
            guidance_scale=6.0,
            max_prompt_tokens=226,
            built_locally=True,
        ),
        ModelInfo(
            key="cogvideox-2b",
            name="CogVideoX-2B",
            hub_id="THUDM/CogVideoX-2b",
            mode="t2v",
            pipeline="CogVideoXPipeline",
            dtype="float16",
            num_frames=49,
            frame_step=8,
            max_frames=49,
            fps=8,
            height=480,
            width=720,
            num_inference_steps=50,
            guidance_scale=6.0,
            max_prompt_tokens=226,
            sizes=((480, 720),),
            min_gpu_memory_gb=18,
            aliases=("2b",),
        ),
        ModelInfo(
            key="cogvideox-5b",
            name="CogVideoX-5B",
            hub_id="THUDM/CogVideoX-5b",
            mode="t2v",
            pipeline="CogVideoXPipeline",
            dtype="bfloat16",
            num_frames=49,
            frame_step=8,
            max_frames=49,
            fps=8,
            height=480,
            width=720,
            num_inference_steps=50,
            guidance_scale=6.0,
            max_prompt_tokens=226,
            sizes=((480, 720),),
            min_gpu_memory_gb=26,
            use_dynamic_cfg=True,
            aliases=("5b",),
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
    choices = ", ".join(sorted({*REGISTRY, *(a for i in REGISTRY.values() for a in i.aliases)}))
    raise UnknownModelError(f"I don't know the model '{name}'. Choose one of: {choices}.")


def image_model_for(name: str) -> ModelInfo:
    """The image-to-video model to use when a person picked `name` and then shared a picture."""
    info = resolve_model(name)
    if info.mode == "i2v":
        return info
    if info.image_model is None:
        raise UnknownModelError(f"{info.name} has no image-to-video variant.")
    return resolve_model(info.image_model)
