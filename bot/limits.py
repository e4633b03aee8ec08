"""Who may render, where, and how much: the caps a workspace sets, read from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


class LimitsError(ValueError):
    pass


def _ids(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise LimitsError(f"{name} must be a whole number, not '{raw}'.") from None
    if value < 1:
        raise LimitsError(f"{name} must be at least 1, not {value}.")
    return value


def _positive_number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise LimitsError(f"{name} must be a number, not '{raw}'.") from None
    if not value > 0:
        raise LimitsError(f"{name} must be more than 0, not {raw}.")
    return value


@dataclass(frozen=True)
class Limits:
    allowed_channels: frozenset[str] = frozenset()  # empty: every channel the bot is in
    allowed_users: frozenset[str] = frozenset()  # empty: everyone in the workspace
    per_user_concurrent: int = 2
    per_user_daily: int = 20
    workspace_concurrent: int = 4
    max_steps: int = 50
    max_seconds: float = 10.0  # the longest clip anyone may ask for (every model's own cap still applies)
    refines_per_minute: int = 6  # replies one person may have refined in a minute (each calls the model)
    # Pictures people share: checked from Slack's metadata before download, and again on the bytes.
    max_image_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 6000 * 6000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Limits:
        env = os.environ if env is None else env
        return cls(
            allowed_channels=_ids(env.get("VIDEOBOT_ALLOWED_CHANNELS", "")),
            allowed_users=_ids(env.get("VIDEOBOT_ALLOWED_USERS", "")),
            per_user_concurrent=_positive(env, "VIDEOBOT_USER_CONCURRENT", cls.per_user_concurrent),
            per_user_daily=_positive(env, "VIDEOBOT_USER_DAILY", cls.per_user_daily),
            workspace_concurrent=_positive(env, "VIDEOBOT_WORKSPACE_CONCURRENT", cls.workspace_concurrent),
            max_steps=_positive(env, "VIDEOBOT_MAX_STEPS", cls.max_steps),
            max_seconds=_positive_number(env, "VIDEOBOT_MAX_SECONDS", cls.max_seconds),
            refines_per_minute=_positive(env, "VIDEOBOT_USER_REFINES_PER_MINUTE", cls.refines_per_minute),
            max_image_bytes=round(
                _positive_number(env, "VIDEOBOT_MAX_IMAGE_MB", cls.max_image_bytes / 2**20) * 2**20
            ),
            max_image_pixels=round(
                _positive_number(env, "VIDEOBOT_MAX_IMAGE_MEGAPIXELS", cls.max_image_pixels / 1e6) * 1e6
            ),
        )

    def allows_user(self, user: str) -> bool:
        return not self.allowed_users or user in self.allowed_users

    def allows_channel(self, channel: str) -> bool:
        return not self.allowed_channels or channel in self.allowed_channels
