"""Refiner port adapters: `offline` (the local default) and `bedrock` (Claude through Converse)."""

from __future__ import annotations

from bot.config import Settings
from bot.ports import Refiner


def build_refiner(settings: Settings) -> Refiner:
    if settings.refiner == "bedrock":
        from bot.refiner.bedrock import BedrockRefiner

        return BedrockRefiner.from_settings(settings)
    from bot.refiner.offline import OfflineRefiner

    return OfflineRefiner()
