"""The job image (built where Docker exists, not in CI): SageMaker's entry point on a CUDA PyTorch base,
and every dependency of the job baked in at the versions everyone else runs."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
JOB = ROOT / "processing_job"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (JOB / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            found[canonicalize_name(name)] = version.strip()
    return found


def job_dependencies() -> list[Requirement]:
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    return [Requirement(item) for item in groups["job"] if isinstance(item, str)]


def test_the_entry_point_is_sagemakers_processing_contract():
    # processing_job.warm: one render as processing_job.inference does, then, when the launcher asked
    # for it, the next queued renders (warm renders)
    entrypoints = [args for kind, args in instructions() if kind == "ENTRYPOINT"]
    assert entrypoints == ['["python", "-m", "processing_job.warm"]']


def test_the_base_is_a_cuda_pytorch_image_with_our_torch():
    args = dict(arg.split("=", 1) for kind, arg in instructions() if kind == "ARG" and "=" in arg)
    base = args["BASE_IMAGE"]
    match = re.fullmatch(r"pytorch/pytorch:(?P<torch>[\d.]+)-cuda(?P<cuda>[\d.]+)-cudnn\d+-runtime", base)
    assert match, base
    assert match["torch"] == pins(ROOT / "constraints.txt")["torch"]
    assert [arg for kind, arg in instructions() if kind == "FROM"] == ["${BASE_IMAGE}"]


def test_every_job_dependency_is_installed_at_the_pinned_version():
    baked = pins(JOB / "requirements.txt")
    locked = pins(ROOT / "constraints.txt")
    for requirement in job_dependencies():
        name = canonicalize_name(requirement.name)
        if name == "torch":
            continue  # the base image's CUDA build
        assert name in baked, f"{name} is a job dependency but the image doesn't install it"
        assert baked[name] == locked[name], f"{name}: image {baked[name]}, constraints {locked[name]}"
        assert requirement.specifier.contains(baked[name]), f"{name} {baked[name]} breaks {requirement}"
    assert {"protobuf", "sentencepiece"} <= baked.keys()  # the real T5 tokenizer needs both


def test_the_requirements_are_installed_at_build_time_and_the_code_copied():
    runs = " ".join(arg for kind, arg in instructions() if kind == "RUN")
    words = shlex.split(runs)
    installed = [words[i + 1] for i, word in enumerate(words) if word == "--requirement"]
    assert installed == ["requirements.txt", "requirements-gpu.txt"]
    copies = [arg for kind, arg in instructions() if kind == "COPY"]
    assert copies[-1] == ". /opt/videobot/processing_job/"
    assert "torchao" in pins(JOB / "requirements-gpu.txt")
