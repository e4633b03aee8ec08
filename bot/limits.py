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


@dataclass(frozen=True)
class Limits:
    allowed_channels: frozenset[str] = frozenset()  # empty: every channel the bot is in
    allowed_users: frozenset[str] = frozenset()  # empty: everyone in the workspace
    per_user_concurrent: int = 2
    per_user_daily: int = 20
    workspace_concurrent: int = 4
    max_steps: int = 50

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
        )
