"""ContentGuard adapters: `bedrock` (a Bedrock Guardrail through ApplyGuardrail) and `local` (passes
everything, or refuses a short list of words: the twin tests and the demo use).

The conversation asks the guard about every prompt it drafts and, again, about everything a render is
about to use (prompt, negative prompt, picture): when a guardrail is configured, nothing renders that
it hasn't passed, whether Claude, the offline refiner or a person wrote the words.
"""

from __future__ import annotations

BLOCKED_MESSAGE = (
    "I can't make that video: this workspace's content policy stopped it. "
    "Please describe something else, and I'll gladly try again."
)
BLOCKED_PICTURE_MESSAGE = (
    "I can't animate that picture: this workspace's content policy stopped it. Please share a different one."
)
