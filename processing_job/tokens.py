"""Counting a prompt's tokens the way the pipeline reads it, so a prompt cut short is reported.

Its own module (no torch, no diffusers, nothing of the render) so every family can count without
importing `generate`, which runs the families.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TokenCount:
    count: int  # tokens in the text, with the end-of-sequence token
    used: int  # what the model reads
    cut: int  # what was dropped from the end

    @classmethod
    def of(cls, count: int, limit: int) -> TokenCount:
        used = min(count, limit)
        return cls(count=count, used=used, cut=count - used)


def count_tokens(tokenizer: Any, text: str, limit: int) -> TokenCount:
    """How many tokens `text` is, as the pipeline tokenizes it (with the end token), against `limit`."""
    ids = tokenizer(text, add_special_tokens=True, truncation=False).input_ids
    return TokenCount.of(len(ids), limit)
