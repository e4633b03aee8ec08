"""What the bot imports from processing_job stays light: no torch, diffusers or transformers."""

from __future__ import annotations

from tests.processing_job.conftest import run_python

BOT_FACING = (
    "processing_job",
    "processing_job.models",
    "processing_job.spec",
    "processing_job.paths",
    "processing_job.progress",
    "processing_job.export",
    "processing_job.weights",
    "processing_job.inference",
    "processing_job.images",
    "processing_job.memory",
    "processing_job.acceleration",
    "processing_job.families",
    "processing_job.restyle",
    "processing_job.extend",
    "processing_job.stage",
    "processing_job.tiny",
)


def test_the_bot_facing_modules_load_without_torch():
    script = (
        f"import importlib, sys\nfor name in {BOT_FACING!r}:\n    importlib.import_module(name)\n"
        "print(sorted(m for m in ('torch', 'diffusers', 'transformers', 'numpy') if m in sys.modules))"
    )
    done = run_python(script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
