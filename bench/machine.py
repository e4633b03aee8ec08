"""The machine a benchmark ran on, for the report's header: CPU, cores, memory, Python, libraries, date."""

from __future__ import annotations

import datetime
import os
import platform
from importlib import metadata

from bench.stats import table

LIBRARIES = (
    "slack-bolt",
    "slack-sdk",
    "boto3",
    "botocore",
    "aws-lambda-powertools",
    "moto",
    "torch",
    "diffusers",
    "transformers",
    "imageio-ffmpeg",
)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / (1 << 20)
    except OSError:
        pass
    return None


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 0)


def versions() -> dict[str, str]:
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def describe(started: datetime.datetime, command: str) -> str:
    memory = memory_gib()
    rows = [
        ["CPU", f"{cpu_model()} ({platform.machine()})"],
        ["cores available", str(cores())],
        ["memory", f"{memory:.1f} GiB" if memory else "unknown"],
        ["OS", f"{platform.system()} {platform.release()}"],
        ["Python", f"{platform.python_implementation()} {platform.python_version()}"],
        ["libraries", ", ".join(f"{name} {version}" for name, version in versions().items())],
        ["GPU", _gpu()],
        ["run", f"{started:%Y-%m-%d %H:%M} UTC, `{command}`"],
    ]
    return table(["", ""], rows)


def _gpu() -> str:
    """The GPU, asked without importing torch here (nvidia-smi when there is one)."""
    import shutil
    import subprocess

    if shutil.which("nvidia-smi"):
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip().replace("\n", "; ")
    return "none (GPU figures are predictions)"
