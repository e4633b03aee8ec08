"""A person's defaults for new videos (model, quality, aspect), chosen on the App Home tab (pure).

New sessions start from them: `defaults_for(store, user)` is the one way to read them, and
`with_defaults` fills what a request left open (flags and settings still win). `aspect` is stored
here and applied by whoever sizes a new draft (`--aspect`, a picture's shape).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot.conversation.sessions import DraftOptions, model_for_mode

if TYPE_CHECKING:
    from bot.conversation.ports import SessionStore

QUALITIES = ("final", "draft")
ASPECTS = ("auto", "16:9", "9:16", "1:1")  # "auto": the model's own size, or the picture's shape
FIELDS = ("model", "quality", "aspect")


class InvalidDefault(ValueError):
    """A default nobody can choose (a hand-made request); the message is for the person."""


@dataclass(frozen=True)
class UserDefaults:
    """What a person's new sessions start from; None means "the workspace's default"."""

    user: str
    model: str | None = None
    quality: str | None = None
    aspect: str = "auto"
    version: int = 0  # bumped by the store on every write

    def choose(self, field: str, value: str, *, models: tuple[str, ...]) -> UserDefaults:
        """These defaults with `field` set to `value`; InvalidDefault if it isn't one of the choices."""
        allowed = {"model": models, "quality": QUALITIES, "aspect": ASPECTS}.get(field)
        if allowed is None or value not in allowed:
            raise InvalidDefault("That isn't one of the choices, so I kept your defaults as they were.")
        return replace(self, **{field: value})


def defaults_for(store: SessionStore, user: str) -> UserDefaults:
    """`user`'s defaults for a new session (the workspace's where they chose none)."""
    return store.user_defaults(user) or UserDefaults(user=user)


def with_defaults(options: DraftOptions, defaults: UserDefaults, *, mode: str = "t2v") -> DraftOptions:
    """A new session's options: what the request chose, and the person's defaults for the rest. A
    default model whose family can't render `mode` (a picture, say) is left to the workspace."""
    model = options.model
    if model is None and defaults.model is not None:
        try:
            model_for_mode(defaults.model, mode)
            model = defaults.model
        except ValueError:  # UnknownModelError: no such model (any more), or none for this mode
            pass
    aspect = options.aspect or (defaults.aspect if defaults.aspect != "auto" else None)
    return replace(options, model=model, quality=options.quality or defaults.quality, aspect=aspect)
