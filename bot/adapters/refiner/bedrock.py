"""The Bedrock refiner: Claude (or any Converse model) writes the CogVideoX prompt.

ConverseStream when someone is watching the text arrive (`on_text`), Converse otherwise; the thread's
turns as the conversation, the picture as an image block in image sessions, and the optional Bedrock
Guardrail. Throttling and transient errors are retried here with exponential back-off and jitter
(botocore's own retries are off, so there is one policy, and it also covers errors that arrive in the
middle of a stream); what still fails raises `RefinerUnavailable`, and the caller falls back.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from bot.adapters.refiner import RefinementBlocked, RefinerUnavailable
from bot.adapters.refiner.prompting import (
    STORYBOARD_TOOL,
    ShotListInvalid,
    clean_prompt,
    conversation_messages,
    parse_shot_list,
    storyboard_system_prompt,
    storyboard_tool,
    system_prompt,
)
from bot.conversation.ports import Refinement, RefineRequest, ShotList, ShotListRequest
from bot.conversation.references import withhold
from bot.runtime.settings import Settings

log = logging.getLogger(__name__)
Answer = TypeVar("Answer")

# Converse's limits for an image block (larger pictures are described from the text alone).
MAX_IMAGE_BYTES = 3_750_000
IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp"}
RETRYABLE = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "InternalServerException",
        "ModelTimeoutException",
        "ModelNotReadyException",
        "ModelErrorException",
        "ModelStreamErrorException",
        "TooManyRequestsException",
    }
)
BLOCKED_STOP_REASONS = frozenset({"guardrail_intervened", "content_filtered"})
BLOCKED_MESSAGE = (
    "I can't write a video prompt for that: this workspace's content policy stopped it. "
    "Please describe something else, and I'll gladly try again."
)


def _label(model_id: str) -> str:
    return "Claude on Bedrock" if "anthropic" in model_id else f"{model_id} on Bedrock"


class BedrockRefiner:
    def __init__(
        self,
        client: Any,
        model_id: str,
        *,
        guardrail_id: str | None = None,
        guardrail_version: str | None = None,
        attempts: int = 3,
        backoff_s: float = 1.0,
        max_backoff_s: float = 8.0,
        max_tokens: int = 600,
        temperature: float = 0.7,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.model_id = model_id
        self.guardrail_id, self.guardrail_version = guardrail_id, guardrail_version
        self.attempts = max(1, attempts)
        self.backoff_s, self.max_backoff_s = backoff_s, max_backoff_s
        self.max_tokens, self.temperature = max_tokens, temperature
        self.sleep = sleep
        self.name = _label(model_id)

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> BedrockRefiner:
        import boto3
        from botocore.config import Config

        # Our own retry loop (below) is the one policy; botocore's would double it.
        client = boto3.client(
            "bedrock-runtime",
            config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=60),
        )
        return cls(
            client,
            settings.bedrock_model_id,
            guardrail_id=settings.guardrail_id,
            guardrail_version=settings.guardrail_version,
            **options,
        )

    # the port

    def refine(self, request: RefineRequest, on_text: Callable[[str], None] | None = None) -> Refinement:
        arguments = self._arguments(request, streaming=on_text is not None)
        if on_text is None:
            text, stop_reason = self._with_retries(lambda: self._converse(arguments))
        else:
            text, stop_reason = self._with_retries(lambda: self._converse_stream(arguments, on_text))
        if stop_reason in BLOCKED_STOP_REASONS:
            raise RefinementBlocked(BLOCKED_MESSAGE)
        prompt = clean_prompt(text, request.max_words)
        if not prompt:
            raise RefinerUnavailable("gave an empty answer")
        note = "Cut to CogVideoX's reading length." if stop_reason == "max_tokens" else ""
        return Refinement(prompt=prompt, refiner=self.name, note=note)

    def shot_list(self, request: ShotListRequest) -> ShotList:
        """The storyboard as structured output: the model must call a tool whose input schema is the
        shot list. An answer that doesn't fit is sent back once as the tool's error (Converse's way
        of asking for a correction); a second misfit raises RefinerUnavailable, so the offline
        refiner writes the list and the card says why."""
        arguments: dict[str, Any] = {
            "modelId": self.model_id,
            "system": [{"text": storyboard_system_prompt(request)}],
            "messages": [{"role": "user", "content": [{"text": request.idea}]}],
            "toolConfig": storyboard_tool(request),
            "inferenceConfig": {"maxTokens": self.max_tokens * request.shots},
        }
        if self.guardrail_id:
            arguments["guardrailConfig"] = {
                "guardrailIdentifier": self.guardrail_id,
                "guardrailVersion": self.guardrail_version or "DRAFT",
            }
        for attempt in (1, 2):
            response = self._with_retries(lambda: self.client.converse(**arguments))
            if str(response.get("stopReason", "")) in BLOCKED_STOP_REASONS:
                raise RefinementBlocked(BLOCKED_MESSAGE)
            message = response.get("output", {}).get("message", {})
            use = next((b["toolUse"] for b in message.get("content", []) if "toolUse" in b), None)
            try:
                if use is None:
                    raise ShotListInvalid(f"Answer by calling the {STORYBOARD_TOOL} tool.")
                shots = parse_shot_list(use.get("input"), request)
            except ShotListInvalid as problem:
                log.warning("Bedrock's shot list didn't fit (attempt %d): %s", attempt, problem)
                if attempt == 2:
                    break
                if use is None:
                    continue  # nothing to answer: ask again as before
                arguments["messages"] = [
                    *arguments["messages"],
                    {"role": "assistant", "content": message.get("content", [])},
                    {
                        "role": "user",
                        "content": [
                            {
                                "toolResult": {
                                    "toolUseId": use.get("toolUseId", ""),
                                    "content": [{"text": f"{problem} Please call the tool again."}],
                                    "status": "error",
                                }
                            }
                        ],
                    },
                ]
                continue
            return ShotList(shots=shots, refiner=self.name)
        raise RefinerUnavailable("wrote a shot list I couldn't use, twice")

    def _with_retries(self, call: Callable[[], Answer]) -> Answer:
        """`call()`, with throttling and transient errors retried (exponential back-off with jitter)."""
        for attempt in range(1, self.attempts + 1):
            try:
                return call()
            except Exception as error:  # botocore's errors, sorted into "try again" and "give up"
                code = _error_code(error)
                if code is None:
                    raise
                if code not in RETRYABLE and not _is_connection_error(error):
                    # The code (AccessDeniedException, ...) is for admins: the log, under a reference.
                    ref = withhold(log, "Bedrock refused the request", code)
                    raise RefinerUnavailable(f"couldn't be used (ref {ref})") from None
                if attempt == self.attempts:
                    log.warning("Bedrock still failing after %d attempts: %s", attempt, code)
                    why = "was busy" if "Throttl" in code or "TooMany" in code else "wasn't reachable"
                    raise RefinerUnavailable(why) from None
                delay = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
                self.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not security
        raise AssertionError("unreachable: the last attempt returns or raises")

    # Converse

    def _arguments(self, request: RefineRequest, *, streaming: bool) -> dict[str, Any]:
        image_format = IMAGE_FORMATS.get(request.image_media_type or "")
        image = request.image
        if image is not None and (image_format is None or len(image) > MAX_IMAGE_BYTES):
            image = None  # the model then works from the thread's words alone
        arguments: dict[str, Any] = {
            "modelId": self.model_id,
            "system": [{"text": system_prompt(request)}],
            "messages": conversation_messages(request, image_format, image),
            "inferenceConfig": {"maxTokens": self.max_tokens, "temperature": self.temperature},
        }
        if self.guardrail_id:
            guardrail: dict[str, Any] = {
                "guardrailIdentifier": self.guardrail_id,
                "guardrailVersion": self.guardrail_version or "DRAFT",
            }
            if streaming:
                # Checked before any text is shown, so nothing a guardrail would stop reaches the thread.
                guardrail["streamProcessingMode"] = "sync"
            arguments["guardrailConfig"] = guardrail
        return arguments

    def _converse(self, arguments: dict[str, Any]) -> tuple[str, str]:
        response = self.client.converse(**arguments)
        content = response.get("output", {}).get("message", {}).get("content", [])
        text = "".join(block.get("text", "") for block in content)
        return text, str(response.get("stopReason", ""))

    def _converse_stream(self, arguments: dict[str, Any], on_text: Callable[[str], None]) -> tuple[str, str]:
        response = self.client.converse_stream(**arguments)
        text, stop_reason = "", ""
        for event in response["stream"]:
            if "contentBlockDelta" in event:
                delta = event["contentBlockDelta"].get("delta", {}).get("text", "")
                if delta:
                    text += delta
                    on_text(text)
            elif "messageStop" in event:
                stop_reason = str(event["messageStop"].get("stopReason", ""))
        return text, stop_reason


def _error_code(error: Exception) -> str | None:
    """Bedrock's error code ("ThrottlingException"), or None for an error that isn't botocore's."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", "")) or "UnknownError"
        # Errors inside a stream arrive camel-cased ("throttlingException").
        return code[:1].upper() + code[1:]
    if isinstance(error, BotoCoreError):
        return type(error).__name__
    return None


def _is_connection_error(error: Exception) -> bool:
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import ReadTimeoutError

    return isinstance(error, BotoConnectionError | ReadTimeoutError)
