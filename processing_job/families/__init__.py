"""Model families: one module per family of diffusers pipelines, each with the same four phases.

A family knows what its pipelines need and how to call them; `generate.render` only runs the
phases in order (the way a diffusers pipeline's `__call__` reads), around the memory-plan fallback,
the progress events, the draft caches and the token count, which are the same for every family:

1. `check_inputs`: what this family can't render, one sentence per problem (sizes, frames, inputs);
2. `encode_prompt`: the prompt and negative prompt as embeddings, at the registry's token limit;
3. `denoise`: the mode's pipeline called with those embeddings and `output_type="latent"`;
4. `decode`: the latents to frames, (F, H, W, 3) floats in 0..1.

`pipeline_class(mode)` names the diffusers pipeline for t2v / i2v / v2v; the job loads the registry's
checkpoint class once with `from_pretrained` and derives the others with `from_pipe` (the same
weights, no second copy). Adding a family: a module here with a `FAMILY` (its phases and the
recipe of its offline tiny model), its entries in models.py, and its tests. torch and diffusers
are imported inside the functions.
"""

from __future__ import annotations

from processing_job.families.base import (
    Conditioning,
    ModelFamily,
    PromptEmbeddings,
    StepCallback,
    pipeline_mode,
)
from processing_job.models import ModelInfo

__all__ = ["Conditioning", "ModelFamily", "PromptEmbeddings", "StepCallback", "family_for", "pipeline_mode"]


def family_for(info: ModelInfo) -> ModelFamily:
    """The family module that renders `info`."""
    from processing_job.families import cogvideox, wan

    families: dict[str, ModelFamily] = {cogvideox.FAMILY.name: cogvideox.FAMILY, wan.FAMILY.name: wan.FAMILY}
    try:
        return families[info.family]
    except KeyError:
        raise ValueError(f"{info.name} names the family {info.family!r}, which has no module.") from None
