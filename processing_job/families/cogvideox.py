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

from processing_job.families import Conditioning, PromptEmbeddings, StepCallback, pipeline_mode
from processing_job.models import COGVIDEOX, I2V, T2V, V2V

if TYPE_CHECKING:
    from processing_job.generate import LoadedPipeline, TokenCount
    from processing_job.spec import JobSpec

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
        from processing_job.generate import count_tokens

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


FAMILY = CogVideoXFamily()
