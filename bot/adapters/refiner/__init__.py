"""Refiner port adapters: `offline` (the local default) and `bedrock` (Claude through Converse), and the
fallback that keeps a conversation going when Bedrock can't answer.

A refiner either returns a `Refinement`, raises `RefinementBlocked` (a guardrail stopped the request:
the person is told, politely, and nothing is drafted), or raises `RefinerUnavailable` (throttled after
its retries, unreachable, misconfigured), which `FallbackRefiner` answers with the offline refiner while
saying which one wrote the prompt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from bot.conversation.ports import (  # noqa: F401 - the refiner port's errors, raised by the adapters
    Refinement,
    RefinementBlocked,
    Refiner,
    RefineRequest,
    RefinerUnavailable,
    ShotList,
    ShotListRequest,
)

log = logging.getLogger(__name__)


class FallbackRefiner:
    """Asks `primary`; when it is unavailable, `fallback` answers and the note says so."""

    def __init__(self, primary: Refiner, fallback: Refiner) -> None:
        self.primary, self.fallback = primary, fallback
        self.name = primary.name

    def refine(self, request: RefineRequest, on_text: Callable[[str], None] | None = None) -> Refinement:
        try:
            return self.primary.refine(request, on_text)
        except RefinerUnavailable as error:
            log.warning(
                "%s unavailable (%s); the %s answers", self.primary.name, error.why, self.fallback.name
            )
            answer = self.fallback.refine(request, on_text)
            why = f"{self.primary.name} {error.why}, so {answer.refiner} wrote this one."
            return replace(answer, note=f"{why} {answer.note}".strip())

    def shot_list(self, request: ShotListRequest) -> ShotList:
        try:
            return self.primary.shot_list(request)
        except RefinerUnavailable as error:
            log.warning("%s unavailable for a storyboard (%s)", self.primary.name, error.why)
            answer = self.fallback.shot_list(request)
            why = f"{self.primary.name} {error.why}, so {answer.refiner} wrote this storyboard."
            return replace(answer, note=f"{why} {answer.note}".strip())
