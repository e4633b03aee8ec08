"""ContentGuard adapters: `bedrock` (a Bedrock Guardrail through ApplyGuardrail) and `local` (passes
everything, or refuses a short list of words: the twin tests and the demo use).

The conversation asks the guard about every prompt it drafts and, again, about everything a render is
about to use (prompt, negative prompt, picture): when a guardrail is configured, nothing renders that
it hasn't passed, whether Claude, the offline refiner or a person wrote the words.
"""

from __future__ import annotations

from bot.config import Settings
from bot.ports import ContentGuard

BLOCKED_MESSAGE = (
    "I can't make that video: this workspace's content policy stopped it. "
    "Please describe something else, and I'll gladly try again."
)
BLOCKED_PICTURE_MESSAGE = (
    "I can't animate that picture: this workspace's content policy stopped it. Please share a different one."
)


def build_content_guard(settings: Settings) -> ContentGuard:
    """The Bedrock Guardrail when one is configured, else the local twin (which passes everything)."""
    if settings.guardrail_id:
        from bot.content_guard.bedrock import BedrockContentGuard

        return BedrockContentGuard.from_settings(settings)
    from bot.content_guard.local import LocalContentGuard

    return LocalContentGuard()
