"""The guardrail the stack creates when asked (`videobot:create_guardrail`): content filters, a
published version, and the one function that writes prompts allowed to apply it."""

from __future__ import annotations

import pytest

from infra.settings import SettingsError, StackSettings
from tests.infra.test_infra_least_privilege import actions_of, function_roles


def guardrail_properties(synthesized) -> dict:
    (properties,) = synthesized.properties("AWS::Bedrock::Guardrail")
    return properties


def test_no_guardrail_is_made_unless_asked(deployed, with_extras):
    assert not deployed.resources("AWS::Bedrock::Guardrail")
    assert not with_extras.resources("AWS::Bedrock::Guardrail")  # it names a guardrail of its own


def test_the_guardrail_filters_the_six_kinds_of_harm_in_text_and_pictures(with_guardrail):
    filters = {
        f["Type"]: f for f in guardrail_properties(with_guardrail)["ContentPolicyConfig"]["FiltersConfig"]
    }
    assert set(filters) == {"SEXUAL", "VIOLENCE", "HATE", "INSULTS", "MISCONDUCT", "PROMPT_ATTACK"}
    for kind in ("SEXUAL", "HATE"):
        assert (filters[kind]["InputStrength"], filters[kind]["OutputStrength"]) == ("HIGH", "HIGH")
    for kind in ("VIOLENCE", "INSULTS", "MISCONDUCT"):
        assert (filters[kind]["InputStrength"], filters[kind]["OutputStrength"]) == ("MEDIUM", "MEDIUM")
    for kind in ("SEXUAL", "VIOLENCE", "HATE", "INSULTS", "MISCONDUCT"):
        assert filters[kind]["InputModalities"] == ["TEXT", "IMAGE"]
    attack = filters["PROMPT_ATTACK"]
    assert (attack["InputStrength"], attack["OutputStrength"], attack["InputModalities"]) == (
        "HIGH",
        "NONE",
        ["TEXT"],
    )


def test_the_guardrail_is_named_for_its_stack_and_says_what_it_blocked(with_guardrail):
    properties = guardrail_properties(with_guardrail)
    assert properties["Name"] == "Videobot-prompts"
    assert "can't make a video" in properties["BlockedInputMessaging"]


def test_a_version_of_the_guardrail_is_published(with_guardrail):
    (version,) = with_guardrail.properties("AWS::Bedrock::GuardrailVersion")
    guardrail = with_guardrail.logical_id(with_guardrail.stack.slack.guardrail.guardrail)
    assert version["GuardrailIdentifier"] == {"Fn::GetAtt": [guardrail, "GuardrailId"]}
    assert "content filters" in version["Description"]  # with a digest of them: new filters, new version


def test_only_the_slack_function_may_apply_the_guardrail_and_only_that_one(with_guardrail):
    guardrail = with_guardrail.logical_id(with_guardrail.stack.slack.guardrail.guardrail)
    appliers = {}
    for name, role in function_roles(with_guardrail).items():
        for statement in with_guardrail.statements(role):
            if "bedrock:ApplyGuardrail" in actions_of(statement):
                appliers[name] = statement["Resource"]
    assert appliers == {"slack": {"Fn::GetAtt": [guardrail, "GuardrailArn"]}}


def test_a_guardrail_is_created_or_named_not_both():
    with pytest.raises(SettingsError, match="create_guardrail or videobot:guardrail_id"):
        StackSettings(create_guardrail=True, guardrail_id="gr0abc", guardrail_version="1").validate()
