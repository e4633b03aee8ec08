"""The content guard on Bedrock: the workspace's Guardrail, applied with `ApplyGuardrail`.

Texts and pictures are sent as the guardrail's INPUT (the policy judges what we are about to render);
`action == "GUARDRAIL_INTERVENED"` is a refusal, explained with the guardrail's own configured message
when it has one. Throttling and transient errors are retried briefly with back-off; what still fails
raises GuardUnavailable, and nothing renders unchecked.
"""

from __future__ import annotations

import io
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from bot.config import Settings
from bot.content_guard import BLOCKED_MESSAGE, BLOCKED_PICTURE_MESSAGE
from bot.ports import GuardUnavailable, GuardVerdict

log = logging.getLogger(__name__)

INTERVENED = "GUARDRAIL_INTERVENED"
IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg"}  # what ApplyGuardrail reads
RETRYABLE = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "InternalServerException",
        "TooManyRequestsException",
    }
)


class BedrockContentGuard:
    def __init__(
        self,
        client: Any,
        guardrail_id: str,
        guardrail_version: str = "DRAFT",
        *,
        attempts: int = 3,
        backoff_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.guardrail_id, self.guardrail_version = guardrail_id, guardrail_version or "DRAFT"
        self.attempts, self.backoff_s, self.sleep = max(1, attempts), backoff_s, sleep

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> BedrockContentGuard:
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "bedrock-runtime",
            config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30),
        )
        assert settings.guardrail_id
        return cls(client, settings.guardrail_id, settings.guardrail_version or "DRAFT", **options)

    # the port

    def check_text(self, texts: Sequence[str]) -> GuardVerdict:
        content = [{"text": {"text": text}} for text in texts if text.strip()]
        if not content:
            return GuardVerdict(True)
        return self._apply(content, BLOCKED_MESSAGE)

    def check_image(self, data: bytes, media_type: str) -> GuardVerdict:
        image_format, data = _readable_picture(data, media_type)
        return self._apply(
            [{"image": {"format": image_format, "source": {"bytes": data}}}], BLOCKED_PICTURE_MESSAGE
        )

    # ApplyGuardrail

    def _apply(self, content: list[dict[str, Any]], default_message: str) -> GuardVerdict:
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.client.apply_guardrail(
                    guardrailIdentifier=self.guardrail_id,
                    guardrailVersion=self.guardrail_version,
                    source="INPUT",
                    content=content,
                )
                break
            except Exception as error:  # botocore's errors: "try again" or "give up"
                code = _error_code(error)
                if code is None:
                    raise
                if code not in RETRYABLE or attempt == self.attempts:
                    log.warning("the guardrail couldn't be applied: %s", code)
                    raise GuardUnavailable(code) from None
                delay = self.backoff_s * 2 ** (attempt - 1)
                self.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not security
        if response.get("action") != INTERVENED:
            return GuardVerdict(True)
        said = " ".join(
            str(output.get("text", "")).strip() for output in response.get("outputs") or [] if output
        ).strip()
        log.info("the guardrail intervened (%s)", response.get("actionReason", ""))
        return GuardVerdict(False, said or default_message)


def _readable_picture(data: bytes, media_type: str) -> tuple[str, bytes]:
    """The picture as PNG or JPEG, the formats the guardrail reads (others are converted to PNG)."""
    image_format = IMAGE_FORMATS.get(media_type)
    if image_format:
        return image_format, data
    from PIL import Image

    with Image.open(io.BytesIO(data)) as picture:
        out = io.BytesIO()
        picture.convert("RGBA" if "A" in picture.getbands() else "RGB").save(out, format="PNG")
    return "png", out.getvalue()


def _error_code(error: Exception) -> str | None:
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "")) or "UnknownError"
    if isinstance(error, BotoCoreError):
        return type(error).__name__
    return None
