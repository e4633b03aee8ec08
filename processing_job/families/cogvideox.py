"""CogVideoX (THUDM): 1.0 and 1.5, text-, image- and video-to-video, through diffusers' own pipelines.

- text to video: `CogVideoXPipeline`; image to video: `CogVideoXImageToVideoPipeline` (its own
  checkpoints, the registry's `-i2v` entries); video to video: `CogVideoXVideoToVideoPipeline`, built
  with `from_pipe` from a text-to-video checkpoint (1.0 only: 1.5 pads its latent frames to pairs,
  which a 16N+1 clip can't fill, so the registry doesn't offer it);
- encoding: `pipe.encode_prompt` at the registry's `max_prompt_tokens`, which for the models with
  sin-cos or learned positions must equal the transformer's `max_text_seq_length` (checked);
- denoising: `pipe(prompt_embeds=..., output_type="latent", ...)` with `use_dynamic_cfg` from the
  registry; decoding: `pipe.decode_latents` + `video_processor.postprocess_video`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from processing_job.families.base import Conditioning, PromptEmbeddings, StepCallback, pipeline_mode
from processing_job.models import COGVIDEOX, I2V, T2V, V2V, ModelInfo

if TYPE_CHECKING:
    from processing_job.generate import LoadedPipeline
    from processing_job.spec import JobSpec
    from processing_job.tokens import TokenCount

PIPELINES = {
    T2V: "CogVideoXPipeline",
    I2V: "CogVideoXImageToVideoPipeline",
    V2V: "CogVideoXVideoToVideoPipeline",
}


class CogVideoXFamily:
    name = COGVIDEOX
    latent_layout = "BFCHW"  # (batch, frames, channels, height, width)
    # diffusers' documented CogVideoX settings, and the published 1.55× (facts.md).
    default_draft_cache = "fastercache"
    caches = ("fastercache", "pab", "first-block", "taylorseer")

    def pipeline_class(self, mode: str) -> str:
        return PIPELINES[pipeline_mode(mode)]

    def check_inputs(self, loaded: LoadedPipeline, spec: JobSpec, conditioning: Conditioning) -> list[str]:
        problems = []
        config = loaded.pipe.transformer.config
        positions_fix_text = (
            not config.use_rotary_positional_embeddings or config.use_learned_positional_embeddings
        )
        if positions_fix_text and config.max_text_seq_length != loaded.info.max_prompt_tokens:
            problems.append(
                f"{loaded.info.name} reads {config.max_text_seq_length} text tokens, but the registry says "
                f"{loaded.info.max_prompt_tokens}."
            )
        mode = pipeline_mode(spec.mode)
        if mode == I2V and conditioning.image is None:
            problems.append("Image-to-video needs a picture, and none was given.")
        if mode == V2V and not conditioning.video:
            problems.append("Video-to-video needs a video, and none was given.")
        if mode == V2V and (conditioning.num_frames - 1) % loaded.pipe.vae_scale_factor_temporal:
            problems.append(
                f"{loaded.info.name} restyles {loaded.pipe.vae_scale_factor_temporal}N+1 frames, "
                f"not {conditioning.num_frames}."
            )
        return problems

    def count_tokens(self, loaded: LoadedPipeline, text: str) -> TokenCount:
        from processing_job.tokens import count_tokens

        return count_tokens(loaded.pipe.tokenizer, text, loaded.info.max_prompt_tokens)

    def encode_prompt(self, loaded: LoadedPipeline, spec: JobSpec, *, guidance: bool) -> PromptEmbeddings:
        import torch

        with torch.no_grad():
            prompt, negative = loaded.pipe.encode_prompt(
                prompt=spec.prompt,
                negative_prompt=spec.negative_prompt,
                do_classifier_free_guidance=guidance,
                num_videos_per_prompt=1,
                max_sequence_length=loaded.info.max_prompt_tokens,
            )
        return PromptEmbeddings(prompt, negative)

    def call_parameters(
        self, loaded: LoadedPipeline, spec: JobSpec, conditioning: Conditioning
    ) -> dict[str, Any]:
        parameters: dict[str, Any] = {
            "height": spec.height,
            "width": spec.width,
            "num_frames": spec.num_frames,
            "num_inference_steps": spec.num_inference_steps,
            "guidance_scale": spec.guidance_scale,
            "use_dynamic_cfg": loaded.info.use_dynamic_cfg,
            "max_sequence_length": loaded.info.max_prompt_tokens,
        }
        if pipeline_mode(spec.mode) == V2V:
            # The video sets the frame count; strength how far the restyle may wander from it.
            parameters["num_frames"] = conditioning.num_frames
            parameters["strength"] = conditioning.strength
        return parameters

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
        inputs = dict(parameters)
        if "strength" in inputs:
            del inputs["num_frames"]
            inputs["video"] = conditioning.video
        elif conditioning.image is not None:
            inputs["image"] = conditioning.image
        return loaded.pipe(
            prompt_embeds=embeddings.prompt,
            negative_prompt_embeds=embeddings.negative,
            generator=generator,
            output_type="latent",
            callback_on_step_end=on_step_end,
            callback_on_step_end_tensor_inputs=[],
            **inputs,
        ).frames

    def decode(self, loaded: LoadedPipeline, latents: Any, num_frames: int) -> Any:
        import torch

        pipe = loaded.pipe
        # CogVideoX 1.5 pads the latent frames to its temporal patch at the front; the pipeline drops
        # the padding before decoding, and so do we.
        latent_frames = (num_frames - 1) // pipe.vae_scale_factor_temporal + 1
        latents = latents[:, latents.shape[1] - latent_frames :]
        with torch.no_grad():
            video = pipe.decode_latents(latents)
            return pipe.video_processor.postprocess_video(video=video, output_type="np")[0]

    def activation_shape(self, pipe: Any, frames: int, height: int, width: int) -> tuple[int, int]:
        config = pipe.transformer.config
        latent_frames = (frames - 1) // pipe.vae_scale_factor_temporal + 1
        patch_t = config.patch_size_t or 1
        latent_frames += -latent_frames % patch_t
        spatial = (height // pipe.vae_scale_factor_spatial // config.patch_size) * (
            width // pipe.vae_scale_factor_spatial // config.patch_size
        )
        tokens = latent_frames // patch_t * spatial + config.max_text_seq_length
        return tokens, config.num_attention_heads * config.attention_head_dim

    def build_tiny(self, info: ModelInfo, tokenizer: Any) -> Any:
        """The offline model `info` (a `tiny*` entry) with random weights, unsaved: the real pipeline
        class, each part as small as its family allows (see processing_job/tiny.py)."""
        import diffusers
        from transformers import T5Config, T5EncoderModel

        transformer = diffusers.CogVideoXTransformer3DModel(**_tiny_transformer_config(info))
        vae = diffusers.AutoencoderKLCogVideoX(
            block_out_channels=(8, 8, 8, 8),
            latent_channels=TINY_LATENT_CHANNELS,
            layers_per_block=1,
            norm_num_groups=2,
            temporal_compression_ratio=4,
            down_block_types=("CogVideoXDownBlock3D",) * 4,
            up_block_types=("CogVideoXUpBlock3D",) * 4,
            # CogVideoX 1.5's VAE divides image latents by their scale instead of multiplying.
            invert_scale_latents=info.key.startswith("tiny-1.5"),
        )
        text_encoder = T5EncoderModel(
            T5Config(
                vocab_size=len(tokenizer),
                d_model=TINY_TEXT_EMBED_DIM,
                d_kv=8,
                d_ff=37,
                num_layers=2,
                num_heads=4,
                relative_attention_num_buckets=8,
            )
        )
        return getattr(diffusers, info.pipeline)(
            tokenizer=tokenizer,
            text_encoder=text_encoder,
            vae=vae,
            transformer=transformer,
            scheduler=diffusers.CogVideoXDPMScheduler(),
        )


TINY_LATENT_CHANNELS = 4
TINY_TEXT_EMBED_DIM = 32
TINY_VAE_SCALE = 8


def _tiny_transformer_config(info: ModelInfo) -> dict[str, Any]:
    common: dict[str, Any] = {
        "in_channels": TINY_LATENT_CHANNELS,
        "out_channels": TINY_LATENT_CHANNELS,
        "time_embed_dim": 2,
        "text_embed_dim": TINY_TEXT_EMBED_DIM,
        "num_layers": 2,
        "patch_size": 2,
        "temporal_compression_ratio": 4,
        # As many text tokens as the registry says (226, like the real 1.0 models), so prompt
        # truncation behaves as in production (the tiny tokenizer makes a token of each word).
        "max_text_seq_length": info.max_prompt_tokens,
    }
    # Rotary embeddings split each head into time/height/width parts: 16 channels divide cleanly.
    rotary: dict[str, Any] = {
        "num_attention_heads": 2,
        "attention_head_dim": 16,
        "use_rotary_positional_embeddings": True,
    }
    recipes: dict[str, dict[str, Any]] = {
        "tiny": {
            "num_attention_heads": 4,
            "attention_head_dim": 8,
            "sample_width": 2,
            "sample_height": 2,
            "sample_frames": 9,
        },
        "tiny-i2v": {
            **rotary,
            "in_channels": 2 * TINY_LATENT_CHANNELS,
            "use_learned_positional_embeddings": True,
            # Learned positions exist for one latent size only: 128×192 pixels.
            "sample_height": 128 // TINY_VAE_SCALE,
            "sample_width": 192 // TINY_VAE_SCALE,
            "sample_frames": 49,
        },
        "tiny-1.5": {
            **rotary,
            "patch_size_t": 2,
            "patch_bias": False,
            # 1.5 slices its rotary grid out of the sample size: it must cover the largest size.
            "sample_height": 384 // TINY_VAE_SCALE,
            "sample_width": 384 // TINY_VAE_SCALE,
            "sample_frames": 81,
        },
        "tiny-1.5-i2v": {
            **rotary,
            "in_channels": 2 * TINY_LATENT_CHANNELS,
            "patch_size_t": 2,
            "patch_bias": False,
            "ofs_embed_dim": 2,  # added to the time embedding: the same width
            "sample_height": 384 // TINY_VAE_SCALE,
            "sample_width": 384 // TINY_VAE_SCALE,
            "sample_frames": 81,
        },
    }
    return {**common, **recipes[info.key]}


FAMILY = CogVideoXFamily()
