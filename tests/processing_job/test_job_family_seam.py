"""A render is the same numbered phases for every model family; what differs lives in the family's
module, and the registry says how each model wants its prompts."""

from __future__ import annotations

import pytest

from processing_job.families import family_for
from processing_job.generate import render
from processing_job.models import REGISTRY, resolve_model


@pytest.mark.parametrize("info", REGISTRY.values(), ids=list(REGISTRY))
def test_every_registry_entry_has_a_family_module_and_a_prompt_style(info):
    family = family_for(info)
    assert family.name == info.family
    assert family.pipeline_class(info.mode)
    assert len(info.prompt_style) > 100 and info.max_prompt_tokens > 0


def test_the_families_pipeline_for_each_mode_is_a_real_diffusers_class():
    import diffusers

    for key in ("tiny", "tiny-wan"):
        family = family_for(resolve_model(key))
        for mode in resolve_model(key).modes:
            assert hasattr(diffusers, family.pipeline_class(mode))


def test_the_registrys_token_limit_is_the_one_the_render_reads(tiny_pipeline, make_spec):
    # The tiny model reads 226 tokens, as the registry says; a longer prompt is cut there, and said.
    spec = make_spec(prompt=" ".join(["a corgi surfing"] * 100))  # 301 tokens with the end token
    rendered = render(tiny_pipeline, spec)
    assert rendered.parameters["max_sequence_length"] == resolve_model("tiny").max_prompt_tokens == 226
    assert rendered.prompt_tokens.used == 226 and rendered.prompt_tokens.cut == 75


def test_a_model_asked_for_a_mode_it_lacks_says_so(tiny_pipeline, make_spec):
    from processing_job.generate import RenderError

    spec = make_spec()
    object.__setattr__(spec, "mode", "i2v")  # past validation, as a stale spec would be
    with pytest.raises(RenderError, match="can't render in i2v mode"):
        render(tiny_pipeline, spec)
