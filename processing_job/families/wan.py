"""Wan (Wan-AI): 2.2 TI2V-5B and 2.1 T2V-1.3B, through diffusers' own Wan pipelines.

- text to video: `WanPipeline` (the checkpoint's class); image to video: `WanImageToVideoPipeline`;
  video to video: `WanVideoToVideoPipeline` — the last two built with `from_pipe` from the loaded
  checkpoint, sharing its weights. Wan 2.2 TI2V-5B is one checkpoint for text and image: its
  `model_index.json` sets `expand_timesteps`, which `WanImageToVideoPipeline` reads to keep the
  picture's latent frame fixed (per-token timesteps) instead of concatenating a mask and a CLIP
  image embedding as Wan 2.1's 14B I2V does;
- encoding: always with the checkpoint's `WanPipeline.encode_prompt` (the same UMT5 encoder for
  every mode; unlike the image and video pipelines' copies, it doesn't require `ftfy`), at the
  registry's 512 tokens, counted on the text as the pipeline cleans it (`prompt_clean`);
- denoising: the mode's pipeline with `prompt_embeds` and `output_type="latent"`;
- decoding: what the end of `WanPipeline.__call__` does with latents (un-normalise with the VAE's
  `latents_mean`/`latents_std`, `vae.decode`, `video_processor.postprocess_video`), as a phase of
  its own so that a decoding that runs out of memory can be redone in tiles from the same latents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from processing_job.families.base import Conditioning, PromptEmbeddings, StepCallback, pipeline_mode
from processing_job.models import I2V, T2V, V2V, WAN, ModelInfo

if TYPE_CHECKING:
    from processing_job.generate import LoadedPipeline
    from processing_job.spec import JobSpec
    from processing_job.tokens import TokenCount

PIPELINES = {
    T2V: "WanPipeline",
    I2V: "WanImageToVideoPipeline",
    V2V: "WanVideoToVideoPipeline",
}


class WanFamily:
    name = WAN
    latent_layout = "BCFHW"  # (batch, channels, frames, height, width)
    # FirstBlockCache supports WanTransformerBlock and needs no per-model calibration (MagCache does).
    default_draft_cache = "first-block"
    # FasterCache's hooks fail on Wan's transformer in diffusers 0.42 (checked on tiny-wan).
    caches = ("first-block", "taylorseer", "pab")

    def pipeline_class(self, mode: str) -> str:
        return PIPELINES[pipeline_mode(mode)]

    def check_inputs(self, loaded: LoadedPipeline, spec: JobSpec, conditioning: Conditioning) -> list[str]:
        problems = []
        pipe, name = loaded.pipe, loaded.info.name
        mode = pipeline_mode(spec.mode)
        # The pipelines would quietly round a size or a frame count; we refuse instead.
        patch = pipe.transformer.config.patch_size
        multiple = pipe.vae_scale_factor_spatial * patch[1]
        if spec.height % multiple or spec.width % multiple:
            problems.append(
                f"{name} renders sizes in multiples of {multiple} pixels, not {spec.width}×{spec.height}."
            )
        frames = conditioning.num_frames if mode == V2V else spec.num_frames
        if (frames - 1) % pipe.vae_scale_factor_temporal:
            problems.append(f"{name} renders {pipe.vae_scale_factor_temporal}N+1 frames, not {frames}.")
        if mode == I2V and conditioning.image is None:
            problems.append("Image-to-video needs a picture, and none was given.")
        if mode == I2V and pipe.transformer.config.image_dim is not None and pipe.image_encoder is None:
            problems.append(f"{name} animates pictures with a CLIP image encoder its weights lack.")
        if mode == V2V and not conditioning.video:
            problems.append("Video-to-video needs a video, and none was given.")
        return problems

    def count_tokens(self, loaded: LoadedPipeline, text: str) -> TokenCount:
        from diffusers.pipelines.wan.pipeline_wan import prompt_clean

        from processing_job.tokens import count_tokens

        return count_tokens(loaded.pipe.tokenizer, prompt_clean(text), loaded.info.max_prompt_tokens)

    def encode_prompt(self, loaded: LoadedPipeline, spec: JobSpec, *, guidance: bool) -> PromptEmbeddings:
        import torch

        encoder = loaded.pipeline_for(T2V)
        with torch.no_grad():
            prompt, negative = encoder.encode_prompt(
                prompt=spec.prompt,
                negative_prompt=spec.negative_prompt,
                do_classifier_free_guidance=guidance,
                num_videos_per_prompt=1,
                max_sequence_length=loaded.info.max_prompt_tokens,
                device=loaded.pipe._execution_device,
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
            "max_sequence_length": loaded.info.max_prompt_tokens,
        }
        if pipeline_mode(spec.mode) == V2V:
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
            del inputs["num_frames"]  # WanVideoToVideoPipeline counts the video's frames itself
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
        from diffusers.utils.torch_utils import get_module_execution_device

        pipe = loaded.pipe
        vae = pipe.vae
        # As at the end of WanPipeline.__call__ (and the i2v and v2v pipelines).
        with torch.no_grad():
            latents = latents.to(get_module_execution_device(vae), dtype=vae.dtype)
            shape = (1, vae.config.z_dim, 1, 1, 1)
            mean = torch.tensor(vae.config.latents_mean).view(shape).to(latents.device, latents.dtype)
            inverse_std = 1.0 / torch.tensor(vae.config.latents_std).view(shape).to(
                latents.device, latents.dtype
            )
            video = vae.decode(latents / inverse_std + mean, return_dict=False)[0]
            return pipe.video_processor.postprocess_video(video, output_type="np")[0]

    def activation_shape(self, pipe: Any, frames: int, height: int, width: int) -> tuple[int, int]:
        config = pipe.transformer.config
        patch_t, patch_h, patch_w = config.patch_size
        latent_frames = (frames - 1) // pipe.vae_scale_factor_temporal + 1
        spatial = (height // pipe.vae_scale_factor_spatial // patch_h) * (
            width // pipe.vae_scale_factor_spatial // patch_w
        )
        return latent_frames // patch_t * spatial, config.num_attention_heads * config.attention_head_dim

    def build_tiny(self, info: ModelInfo, tokenizer: Any) -> Any:
        """The offline model `info` (`tiny-wan`) with random weights, unsaved: like Wan 2.2 TI2V-5B,
        a `WanPipeline` with `expand_timesteps`, so the same weights render text, image and video to
        video; diffusers' own tiny test configs (tests/pipelines/wan/test_wan.py); the scheduler of
        the real checkpoint (UniPC with flow sigmas)."""
        import diffusers
        from transformers import UMT5Config, UMT5EncoderModel

        vae = diffusers.AutoencoderKLWan(
            base_dim=3,
            z_dim=16,
            dim_mult=[1, 1, 1, 1],
            num_res_blocks=1,
            temperal_downsample=[False, True, True],
        )
        transformer = diffusers.WanTransformer3DModel(
            patch_size=(1, 2, 2),
            num_attention_heads=2,
            attention_head_dim=12,
            in_channels=16,
            out_channels=16,
            text_dim=TINY_TEXT_DIM,
            freq_dim=256,
            ffn_dim=32,
            num_layers=2,
            cross_attn_norm=True,
            qk_norm="rms_norm_across_heads",
            rope_max_seq_len=32,
        )
        text_encoder = UMT5EncoderModel(  # Wan's UMT5 tokenizer is T5's fast tokenizer
            UMT5Config(
                vocab_size=len(tokenizer),
                d_model=TINY_TEXT_DIM,
                d_kv=8,
                d_ff=37,
                num_layers=2,
                num_heads=4,
                relative_attention_num_buckets=8,
            )
        )
        return diffusers.WanPipeline(
            tokenizer=tokenizer,
            text_encoder=text_encoder,
            vae=vae,
            transformer=transformer,
            scheduler=diffusers.UniPCMultistepScheduler(
                prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0
            ),
            expand_timesteps=True,  # Wan 2.2 TI2V: one checkpoint for text and image to video
        )


TINY_TEXT_DIM = 32


FAMILY = WanFamily()
