"""The local twin of the content guard: passes everything, or refuses texts with listed words."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from bot.content_guard import BLOCKED_MESSAGE, BLOCKED_PICTURE_MESSAGE
from bot.ports import GuardVerdict


class LocalContentGuard:
    def __init__(
        self, blocked_words: Iterable[str] = (), *, block_pictures: bool = False, message: str = ""
    ) -> None:
        self.blocked_words = frozenset(word.lower() for word in blocked_words)
        self.block_pictures = block_pictures
        self.message = message
        self.checked: list[str] = []  # what was judged, in order (for tests and the demo's log)

    def check_text(self, texts: Sequence[str]) -> GuardVerdict:
        self.checked.extend(texts)
        words = {w for text in texts for w in re.findall(r"[\w'-]+", text.lower())}
        if words & self.blocked_words:
            return GuardVerdict(False, self.message or BLOCKED_MESSAGE)
        return GuardVerdict(True)

    def check_image(self, data: bytes, media_type: str) -> GuardVerdict:
        self.checked.append(f"<{media_type}, {len(data)} bytes>")
        if self.block_pictures:
            return GuardVerdict(False, self.message or BLOCKED_PICTURE_MESSAGE)
        return GuardVerdict(True)
