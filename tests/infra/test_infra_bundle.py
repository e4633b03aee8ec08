"""The bot's Lambda code: the bot, the torch-free job modules it imports, and dependencies for Lambda."""

from __future__ import annotations

import ast
import marshal
import sys
from pathlib import Path

import pytest

from infra.bundle import (
    JOB_MODULES,
    PIP_PLATFORM,
    PIP_PYTHON_VERSION,
    REPO_ROOT,
    RUNTIME,
    compile_bytecode,
    copy_sources,
    find_interpreter,
    pip_command,
)

# What the GPU container needs and the Lambda must never carry.
HEAVY = {"torch", "diffusers", "transformers", "accelerate", "imageio", "imageio_ffmpeg", "numpy", "cv2"}


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_the_bundle_holds_the_bot_and_the_job_modules_it_shares(tmp_path: Path):
    copy_sources(tmp_path)
    assert (tmp_path / "bot" / "slack" / "app.py").is_file()
    assert (tmp_path / "bot" / "slack" / "listeners").is_dir()
    assert (tmp_path / "bot" / "runtime" / "lambda_handlers.py").is_file()
    bundled_job = {path.name for path in (tmp_path / "processing_job").iterdir()}
    assert {"__init__.py", "models.py", "spec.py", "paths.py", "progress.py"} <= bundled_job


def test_the_bundle_leaves_out_the_render_code_and_caches(tmp_path: Path):
    copy_sources(tmp_path)
    assert not (tmp_path / "processing_job" / "generate.py").exists()
    assert not (tmp_path / "processing_job" / "inference.py").exists()
    assert not list(tmp_path.rglob("__pycache__"))
    assert not (tmp_path / "infra").exists()
    assert not (tmp_path / "tests").exists()


def test_the_bundle_holds_none_of_the_stand_in_the_demo_or_the_local_server(tmp_path: Path):
    copy_sources(tmp_path)
    names = {path.name for path in tmp_path.rglob("*")}
    assert "localslack" not in names
    assert not names & {"demo.py", "local_server.py", "__main__.py"}
    for path in tmp_path.rglob("*.py"):
        imported = {name.split(".")[0] for name in imported_modules(path)}
        assert "localslack" not in imported, f"{path.relative_to(tmp_path)} imports the stand-in"


def test_every_bot_module_a_bundled_module_imports_is_in_the_bundle(tmp_path: Path):
    copy_sources(tmp_path)
    for path in (tmp_path / "bot").rglob("*.py"):
        for name in imported_modules(path):
            if name.split(".")[0] == "bot":
                module = tmp_path / name.replace(".", "/")
                assert module.with_suffix(".py").is_file() or (module / "__init__.py").is_file(), (
                    f"{path.relative_to(tmp_path)} imports {name}, which the bundle lacks"
                )


def handler_strings() -> dict[str, str]:
    """Every Lambda handler string infra/ names (`NAME_HANDLER = "module.function"`)."""
    found = {}
    for path in (REPO_ROOT / "infra").glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
                and any(isinstance(t, ast.Name) and t.id.endswith("_HANDLER") for t in node.targets)
            ):
                found[f"{path.stem}.{node.targets[0].id}"] = node.value.value
    return found


def test_infra_names_the_five_lambda_handlers():
    assert len(set(handler_strings().values())) == 5


@pytest.mark.parametrize("handler", sorted(set(handler_strings().values())))
def test_every_handler_string_is_a_function_in_the_bundle(tmp_path: Path, handler: str):
    copy_sources(tmp_path)
    module, _, function = handler.rpartition(".")
    path = tmp_path / (module.replace(".", "/") + ".py")
    assert path.is_file(), f"{handler}: no {module} in the bundle"
    defined = {node.name for node in ast.parse(path.read_text()).body if isinstance(node, ast.FunctionDef)}
    assert function in defined, f"{handler}: {module} defines no function {function}"


def test_every_job_module_the_bot_imports_is_in_the_bundle():
    wanted = set()
    for path in (REPO_ROOT / "bot").rglob("*.py"):
        wanted |= {name for name in imported_modules(path) if name.startswith("processing_job.")}
    bundled = {f"processing_job.{name.removesuffix('.py')}" for name in JOB_MODULES}
    assert wanted <= bundled, f"bot imports job modules the Lambda bundle lacks: {sorted(wanted - bundled)}"


def test_the_bundled_job_modules_import_nothing_heavy():
    for name in JOB_MODULES:
        path = REPO_ROOT / "processing_job" / name
        if path.exists():
            roots = {module.split(".")[0] for module in imported_modules(path)}
            assert not roots & HEAVY, f"processing_job/{name} imports {sorted(roots & HEAVY)}"


def test_dependencies_are_wheels_for_the_lambda_runtime(tmp_path: Path):
    command = pip_command(tmp_path)
    assert command[command.index("--target") + 1] == str(tmp_path)
    assert command[command.index("--platform") + 1] == PIP_PLATFORM
    assert PIP_PLATFORM.endswith("_aarch64")
    assert command[command.index("--python-version") + 1] == PIP_PYTHON_VERSION == "3.14"
    assert RUNTIME.name == "python3.14"
    assert "--only-binary=:all:" in command


def test_dependencies_are_the_bot_and_aws_groups_pinned_by_constraints(tmp_path: Path):
    command = pip_command(tmp_path)
    assert command[command.index("--constraint") + 1] == str(REPO_ROOT / "constraints.txt")
    groups = [command[i + 1] for i, arg in enumerate(command) if arg == "--group"]
    assert groups == [f"{REPO_ROOT / 'pyproject.toml'}:bot", f"{REPO_ROOT / 'pyproject.toml'}:aws"]
    assert "pillow" in command


RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"


def _pyc_flags(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[4:8], "little")


def test_the_bundle_is_compiled_by_the_runtimes_python_when_one_is_here(tmp_path: Path):
    (tmp_path / "handler.py").write_text("ANSWER = 42\n")
    assert compile_bytecode(tmp_path, RUNNING, find=lambda version: sys.executable)
    compiled = tmp_path / "__pycache__" / f"handler.{sys.implementation.cache_tag}.pyc"
    assert compiled.is_file()
    assert _pyc_flags(compiled) == 0b01  # hash-based, never checked against file times (PEP 552)
    assert marshal.loads(compiled.read_bytes()[16:]).co_filename == "/var/task/handler.py"


def test_the_bundles_bytecode_is_the_same_on_every_build(tmp_path: Path):
    builds = []
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "handler.py").write_text("KINDS = {'a', 'b', 'c', 'd'}\n")
        compile_bytecode(folder, RUNNING, find=lambda version: sys.executable)
        builds.append((folder / "__pycache__" / f"handler.{sys.implementation.cache_tag}.pyc").read_bytes())
    assert builds[0] == builds[1]


def test_without_the_runtimes_python_the_bundle_ships_sources_and_says_how_to_fix_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    (tmp_path / "handler.py").write_text("ANSWER = 42\n")
    assert not compile_bytecode(tmp_path, "3.99", find=lambda version: None)
    assert not list(tmp_path.rglob("*.pyc"))
    assert "uv python install 3.99" in capsys.readouterr().err


def test_an_interpreter_of_another_version_is_never_taken_for_the_runtimes():
    assert find_interpreter("2.1") is None
