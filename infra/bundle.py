"""The bot's Lambda code: one asset for every handler, bundled on this machine without Docker.

The asset holds the `bot` package (less `python -m bot`, the local command line; the stand-in, the demo
and the local server live outside it, in `localslack`), the torch-free modules of `processing_job` that
the bot imports (spec, registry, paths, progress), and the `bot` + `aws` dependency groups of
pyproject.toml, installed by pip for the Lambda runtime's platform (wheels only, pinned by
constraints.txt), then compiled to bytecode by the runtime's Python version when this machine has
one (`compile_bytecode`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parent.parent

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64  # Graviton: cheaper per ms; every dependency has an arm64 wheel
# Amazon Linux 2023 (glibc 2.34) under the Python 3.12+ runtimes runs manylinux_2_28 wheels (Pillow 13
# ships no older ones); pip also takes the older manylinux tags under this one.
PIP_PLATFORM = "manylinux_2_28_aarch64"
PIP_PYTHON_VERSION = RUNTIME.name.removeprefix("python")

DEPENDENCY_GROUPS = ("bot", "aws")
# Pictures people share are checked with Pillow before use; it sits in the job's group.
EXTRA_REQUIREMENTS = ("pillow",)
# The parts of processing_job the bot imports (a test checks). The rest (generate, export...) needs torch.
JOB_MODULES = (
    "__init__.py",
    "models.py",
    "spec.py",
    "paths.py",
    "progress.py",
    "images.py",
    "weights.py",
    "warm.py",  # the hand-over to warm jobs (claims, offers, heartbeats), torch-free
)
LAMBDA_TASK_ROOT = "/var/task"  # where Lambda unpacks the bundle
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc")
# `python -m bot` (demo, dev, serve, manifest) runs on people's machines, never on Lambda: it is the one
# module of the bot that reaches for the stand-in (localslack, never bundled).
LOCAL_ONLY = shutil.ignore_patterns("__pycache__", "*.pyc", "__main__.py")


def copy_sources(output_dir: Path, root: Path = REPO_ROOT) -> None:
    """Copy the bot and the torch-free job modules into `output_dir`."""
    shutil.copytree(root / "bot", output_dir / "bot", ignore=LOCAL_ONLY, dirs_exist_ok=True)
    job_dir = output_dir / "processing_job"
    job_dir.mkdir(parents=True, exist_ok=True)
    for name in JOB_MODULES:
        source = root / "processing_job" / name
        if source.exists():  # images.py arrives with the image work
            shutil.copy2(source, job_dir / name)


def pip_command(output_dir: Path, root: Path = REPO_ROOT) -> list[str]:
    """pip, installing the Lambda's dependencies for the Lambda's platform into `output_dir`."""
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",  # pip's interpreter isn't the runtime's: compile_bytecode does it with the right one
        "--target",
        str(output_dir),
        "--platform",
        PIP_PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        PIP_PYTHON_VERSION,
        "--only-binary=:all:",
        "--constraint",
        str(root / "constraints.txt"),
        *(arg for group in DEPENDENCY_GROUPS for arg in ("--group", f"{root / 'pyproject.toml'}:{group}")),
        *EXTRA_REQUIREMENTS,
    ]


def find_interpreter(version: str = PIP_PYTHON_VERSION) -> str | None:
    """A CPython `version` (e.g. "3.14") on this machine: `python3.14` on PATH, else one uv manages."""
    candidates = [shutil.which(f"python{version}")]
    uv = shutil.which("uv")
    if uv:
        found = subprocess.run(
            [uv, "python", "find", "--no-project", version], capture_output=True, text=True, check=False
        )
        candidates.append(found.stdout.strip() if found.returncode == 0 else None)
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2], sys.implementation.name)"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.split() == [version, "cpython"]:
            return candidate
    return None


def compile_bytecode(
    output_dir: Path,
    version: str = PIP_PYTHON_VERSION,
    find: Callable[[str], str | None] = find_interpreter,
) -> bool:
    """Compile the bundle's modules with the runtime's own Python version, so that a cold start loads
    bytecode instead of compiling the ~440 modules the first request imports (`/var/task` is read-only:
    what the runtime compiles is thrown away with the container; `make bench` measures the cost).

    Hash-based and unchecked, so the .pyc files don't depend on file times (which zipping and
    unpacking don't keep); named for `/var/task`, so the asset's hash stays reproducible. Without that
    interpreter the bundle ships sources only (it still works, compiling at each cold start) and says so."""
    interpreter = find(version)
    if interpreter is None:
        print(
            f"videobot: no Python {version} here to precompile the Lambda bundle; each cold start will "
            f"compile it (install one, e.g. `uv python install {version}`, to save that).",
            file=sys.stderr,
        )
        return False
    compiled = subprocess.run(
        [
            interpreter,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            # Named as Lambda unpacks them, not after this build's scratch folder (which changes).
            "-s",
            str(output_dir),
            "-p",
            LAMBDA_TASK_ROOT,
            str(output_dir),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONHASHSEED": "0"},  # sets in constants come out in the same order
    )
    if compiled.returncode != 0:  # a file some package ships for another Python: it stays source-only
        print(f"videobot: some bundled files didn't compile:\n{compiled.stdout[-2000:]}", file=sys.stderr)
    return True


@jsii.implements(cdk.ILocalBundling)
class PipBundling:
    """CDK's local bundling hook: build the asset here instead of in a Docker container."""

    def __init__(self, root: Path = REPO_ROOT) -> None:
        self.root = root

    def try_bundle(self, output_dir: str, options: cdk.BundlingOptions) -> bool:
        target = Path(output_dir)
        copy_sources(target, self.root)
        result = subprocess.run(pip_command(target, self.root), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            # Say so rather than return False: CDK would then try Docker, which this project doesn't need.
            raise RuntimeError(
                f"Bundling the bot's Lambda code failed (pip needs PyPI):\n{result.stderr.strip()}"
            )
        compile_bytecode(target)
        return True


def bot_code(root: Path = REPO_ROOT) -> lambda_.Code:
    """The asset for all the bot's functions. Tests skip its bundling (`aws:cdk:bundling-stacks=[]`)."""
    return lambda_.Code.from_asset(
        str(root),
        # Hash what was built, not the source folder: the repository (with .venv) is far too big to
        # fingerprint, and the bundle is what Lambda runs.
        asset_hash_type=cdk.AssetHashType.OUTPUT,
        bundling=cdk.BundlingOptions(
            # Required by the API, never pulled: local bundling either succeeds or raises.
            image=RUNTIME.bundling_image,
            local=PipBundling(root),
        ),
    )
