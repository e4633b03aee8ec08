"""`make bench`: every benchmark, each in its own process, written to docs/benchmarks.md.

    .venv/bin/python -m bench                 everything (the render section takes minutes on a CPU)
    BENCH_QUICK=1 .venv/bin/python -m bench   the render's measurements skipped (its prediction kept)
    .venv/bin/python -m bench --smoke --out /tmp/bench.md    few samples everywhere: checks the harness

Sections run one after another in fresh interpreters (a warm process would flatter cold starts and
mix one section's allocations into another's), in an order that lets the cost section use the Lambda
durations the ack and delivery sections measured.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.gpu import keep_block
from bench.machine import describe
from bench.section import Section, stderr_say

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "docs" / "benchmarks.md"
# Module per section, in running order; cost comes last: it reads the others' figures.
SECTIONS = {
    "ack": "bench.ack",
    "cold_start": "bench.cold_start",
    "delivery": "bench.delivery",
    "render": "bench.render",
    "stages": "bench.stages",
    "storyboard": "bench.storyboard",
    "cost": "bench.cost",
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=None, help=f"where the report goes (default {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="skip the render's measurements, the stages' larger size (also BENCH_QUICK=1)",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="few samples in every section (not for the docs)"
    )
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), help="run these sections only")
    args = parser.parse_args()
    quick = args.quick or os.environ.get("BENCH_QUICK", "") not in ("", "0")
    out = args.out or (None if args.smoke else DEFAULT_OUT)
    started = datetime.datetime.now(datetime.UTC)
    command = "python -m bench" + (" --smoke" if args.smoke else "") + (" (BENCH_QUICK=1)" if quick else "")

    sections: dict[str, Section] = {}
    with tempfile.TemporaryDirectory(prefix="videobot-bench-") as scratch:
        for name, module in SECTIONS.items():
            if args.only and name not in args.only:
                continue
            sections[name] = _run_section(
                name, module, Path(scratch), sections, smoke=args.smoke, quick=quick
            )
    report = _report(sections, started, command, smoke=args.smoke)
    if out is None:
        sys.stdout.write(report)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        # The GPU section (`make bench-gpu`, measured on a lent GPU) outlives a CPU regeneration.
        out.write_text(keep_block(out.read_text(), report) if out.exists() else report)
        stderr_say(f"bench: wrote {out}")
    return 0


def _run_section(
    name: str, module: str, scratch: Path, done: dict[str, Section], *, smoke: bool, quick: bool
) -> Section:
    result = scratch / f"{name}.json"
    command = [sys.executable, "-m", module, "--out", str(result)]
    if smoke or (quick and name in ("render", "stages", "storyboard")):
        command.append("--quick")
    if name == "cost":
        figures = scratch / "figures.json"
        figures.write_text(json.dumps({key: section.figures for key, section in done.items()}))
        command += ["--figures", str(figures)]
    stderr_say(f"bench: {name} ...")
    started = time.perf_counter()
    # The section's stdout is the functions' own log lines (Powertools writes JSON there, as on Lambda).
    subprocess.run(
        command, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL, check=True
    )
    stderr_say(f"bench: {name} done in {time.perf_counter() - started:.0f} s")
    return Section.read(result)


def _report(sections: dict[str, Section], started: datetime.datetime, command: str, *, smoke: bool) -> str:
    headlines = [f"- {section.headline}" for section in sections.values() if section.headline]
    parts = [
        "# Benchmarks",
        "_Written by `make bench` (`.venv/bin/python -m bench`, source in `bench/`): regenerate it rather "
        "than editing it. Every figure comes with its baseline from the same run; the machines here are "
        "shared and noisy, so compare ratios, not absolute times._",
        *(["**SMOKE RUN: few samples, not figures to quote.**"] if smoke else []),
        "## The machine",
        describe(started, command),
        "## Summary",
        "\n".join(headlines),
        *(section.markdown for section in sections.values()),
    ]
    return "\n\n".join(part.strip("\n") for part in parts) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
