"""One benchmark section: its Markdown and the figures later sections use (the cost table reads the
measured Lambda durations), and the command line each section runs with in its own process.

    python -m bench.ack --out ack.json [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

Say = Callable[[str], None]


@dataclass(frozen=True)
class Section:
    name: str
    markdown: str
    figures: dict[str, Any] = field(default_factory=dict)
    headline: str = ""  # one line for the report's summary: the figure that matters and its goal

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def read(cls, path: Path) -> Section:
        data = json.loads(path.read_text())
        return cls(data["name"], data["markdown"], data.get("figures") or {}, data.get("headline", ""))


def stderr_say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def section_main(run: Callable[..., Section]) -> None:
    """A section's command line: `--out FILE` writes the Section as JSON (what `python -m bench`
    reads), otherwise the Markdown goes to stdout. `--quick` asks for fewer samples."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path)
    parser.add_argument("--quick", action="store_true", help="fewer samples: a smoke run, not figures")
    parser.add_argument("--figures", type=Path, help="JSON figures of the sections run before (cost)")
    args = parser.parse_args()
    options: dict[str, Any] = {"quick": args.quick}
    if args.figures:
        options["figures"] = json.loads(args.figures.read_text())
    section = run(stderr_say, **options)
    if args.out:
        section.write(args.out)
    else:
        sys.stdout.write(section.markdown + "\n")
