"""Summaries of timed samples, and the Markdown they are reported in.

Machines here are shared and noisy: the runs compared take turns (interleaved), and each figure is
reported as p50 / p99 with the ratio to its baseline from the same run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), nearest-rank on the sorted samples."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class Summary:
    n: int
    p50: float
    p99: float
    mean: float
    low: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Summary:
        return cls(
            n=len(samples),
            p50=percentile(samples, 50),
            p99=percentile(samples, 99),
            mean=sum(samples) / len(samples),
            low=min(samples),
        )

    def to_dict(self) -> dict[str, float]:
        return {"n": self.n, "p50": self.p50, "p99": self.p99, "mean": self.mean, "min": self.low}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}×" if baseline else "—"


def verdict(ok: bool) -> str:
    return "✅ met" if ok else "❌ missed"


def mib(size_bytes: float) -> str:
    return f"{size_bytes / (1 << 20):.1f}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> str:
    """A Markdown table; `align` has one letter per column (l or r), left by default."""
    marks = [("---:" if a == "r" else "---") for a in align.ljust(len(header), "l")]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
