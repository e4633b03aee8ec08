"""What every model family has in common: the phases' protocol and the inputs they share (see
`processing_job.families`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from processing_job.models import EXTEND, I2V, ModelInfo

if TYPE_CHECKING:
    from PIL import Image

    from processing_job.generate import LoadedPipeline
    from processing_job.spec import JobSpec
    from processing_job.tokens import TokenCount

# What a pipeline's callback_on_step_end looks like.
StepCallback = Callable[[Any, int, Any, dict], dict]


@dataclass
class Conditioning:
    """What a render starts from besides the prompt: a picture (image-to-video, and extend's last
    frame) or a video's frames with a strength (video-to-video), already fitted to the spec's size."""

    image: Image.Image | None = None
    video: list[Image.Image] = field(default_factory=list)
    strength: float | None = None

    @property
    def num_frames(self) -> int:
        return len(self.video)


@dataclass
class PromptEmbeddings:
    prompt: Any  # a torch tensor
    negative: Any  # a torch tensor, or None without classifier-free guidance


class ModelFamily(Protocol):
    """The phases of one family's render (see the module's docstring)."""

    name: str
    # How its latents are laid out (for FasterCache): CogVideoX "BFCHW", Wan "BCFHW".
    latent_layout: str
    # The draft cache that suits it, and every cache its transformer takes (acceleration.CACHES);
    # VIDEOBOT_DRAFT_CACHE picks another of them.
    default_draft_cache: str
    caches: tuple[str, ...]

    def pipeline_class(self, mode: str) -> str:
        """The diffusers pipeline class that renders `mode` (t2v, i2v, v2v)."""
        ...

    def check_inputs(self, loaded: LoadedPipeline, spec: JobSpec, conditioning: Conditioning) -> list[str]:
        """Why `spec` can't be rendered with `loaded` and `conditioning`; [] when it can."""
        ...

    def count_tokens(self, loaded: LoadedPipeline, text: str) -> TokenCount:
        """`text`'s length in tokens as the pipeline tokenizes it, against the registry's limit."""
        ...

    def encode_prompt(self, loaded: LoadedPipeline, spec: JobSpec, *, guidance: bool) -> PromptEmbeddings: ...

    def call_parameters(
        self, loaded: LoadedPipeline, spec: JobSpec, conditioning: Conditioning
    ) -> dict[str, Any]:
        """The plain values the mode's pipeline is called with (recorded in result.json)."""
        ...

    def denoise(
        self,
        loaded: LoadedPipeline,
        embeddings: PromptEmbeddings,
        conditioning: Conditioning,
        parameters: dict[str, Any],
        *,
        generator: Any,
        on_step_end: StepCallback,
    ) -> Any:
        """The latents after the denoising loop."""
        ...

    def decode(self, loaded: LoadedPipeline, latents: Any, num_frames: int) -> Any:
        """(F, H, W, 3) float frames in 0..1 from `latents`."""
        ...

    def activation_shape(self, pipe: Any, frames: int, height: int, width: int) -> tuple[int, int]:
        """(tokens, hidden width) of one transformer call, for the memory estimate."""
        ...

    def build_tiny(self, info: ModelInfo, tokenizer: Any) -> Any:
        """The offline model `info` (built_locally in the registry) with random weights, as an unsaved
        pipeline of its checkpoint class; tiny.py seeds the RNG, saves it and caches it."""
        ...


def pipeline_mode(mode: str) -> str:
    """The pipeline mode a render mode runs in: extending a clip is image-to-video."""
    return I2V if mode == EXTEND else mode
