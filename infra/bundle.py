"""The bot's Lambda code: one asset for every handler, bundled on this machine without Docker.

The asset holds the `bot` package, the torch-free modules of `processing_job` that the bot imports
(spec, registry, paths, progress), and the `bot` + `aws` dependency groups of pyproject.toml,
installed by pip for the Lambda runtime's platform (wheels only, pinned by constraints.txt).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
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
JOB_MODULES = ("__init__.py", "models.py", "spec.py", "paths.py", "progress.py", "images.py", "weights.py")
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc")


def copy_sources(output_dir: Path, root: Path = REPO_ROOT) -> None:
    """Copy the bot and the torch-free job modules into `output_dir`."""
    shutil.copytree(root / "bot", output_dir / "bot", ignore=SKIPPED, dirs_exist_ok=True)
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
        "--no-compile",  # the runtime compiles into /tmp; .pyc files here would only change the hash
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
