"""bench/gpu.py, the GPU proof (issue 17), without a GPU: the whole harness on the CPU with scaled-down
models (`--cpu-smoke`), the report's tables, the docs block between its markers (in a temporary file,
never the real docs), the real configurations against the installed diffusers classes (built on the
meta device), and the arithmetic the figures are compared with."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

from bench import gpu
from bench.render import ARCHITECTURES, STEPS, gpu_peak_tflops

REPO = Path(__file__).resolve().parents[2]
SMOKE_MODELS = [case.key for case in gpu.CASES]


def tables(markdown: str) -> dict[str, list[list[str]]]:
    """Each `### heading`'s table: its rows as cells, the header first (the separator left out)."""
    found: dict[str, list[list[str]]] = {}
    heading = None
    for line in markdown.splitlines():
        if line.startswith("### "):
            heading = line[4:].strip()
        elif line.startswith("|") and heading is not None:
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(set(cell) <= set("-: ") for cell in cells):
                found.setdefault(heading, []).append(cells)
    return found


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench-gpu")
    docs = folder / "benchmarks.md"
    docs.write_text("# Benchmarks\n\nThe CPU sections, written by `make bench`.\n")
    out = folder / "out"
    done = subprocess.run(
        [sys.executable, "-m", "bench.gpu", "--cpu-smoke", "--docs", str(docs)],
        cwd=REPO,
        env={**os.environ, "OUT": str(out), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout, docs, out


def test_the_cpu_smoke_run_measures_every_variant_or_says_why_not(smoke):
    stdout, _, out = smoke
    run = gpu.Run.from_json((out / gpu.JSON_NAME).read_text())
    assert run.smoke and run.card.startswith("CPU")
    for case in gpu.CASES:
        rows = {row.variant: row for row in run.rows if row.model == case.name}
        measured = {name for name, row in rows.items() if not row.skipped}
        assert {"eager (float32)", "compile (mode default)", "VAE decode", "VAE decode, tiled"} <= measured
        caches = [name for name in measured if name.startswith("draft cache: ")]
        assert len(caches) == len(case.family.caches), caches
        assert any("(the family's default)" in name for name in caches)
        assert rows["fp8 + compile"].skipped.startswith("fp8 needs a CUDA GPU")
        assert rows["compile (max-autotune-no-cudagraphs)"].skipped
        assert all(row.seconds_per_video > 0 for row in rows.values() if not row.skipped)
        assert any(row.kind == "export" and not row.skipped for row in rows.values())
        # FLOPs and tokens of the scaled-down model, for the per-model table.
        assert run.models[case.key]["tokens"] > 0
    # A goal line each: the final render's, and a draft's per model.
    goals = [line for line in stdout.splitlines() if line.startswith("goal ")]
    assert len(goals) == 1 + len(SMOKE_MODELS)
    assert all(line.startswith("goal NOT MEASURED") for line in goals)  # not the real models
    assert goals[0].startswith("goal NOT MEASURED: CogVideoX-5B, 49 frames 720×480, 50 steps ≤ 47 s")
    assert "draft (20 steps + the default cache)" in goals[1]


def test_the_report_tables_are_well_formed(smoke):
    _, _, out = smoke
    section = (out / gpu.MARKDOWN_NAME).read_text()
    found = tables(section)
    assert set(found) >= {"Per model", "Denoising", "VAE decode and export"}
    for heading, rows in found.items():
        header = rows[0]
        assert all(len(row) == len(header) for row in rows), heading
    denoising = found["Denoising"]
    assert denoising[0] == [
        "model",
        "variant",
        "s per step",
        "s per video",
        "× FLOP floor",
        "speed-up",
        "compile (s)",
        "note",
    ]
    assert {row[0] for row in denoising[1:]} == {case.name for case in gpu.CASES}
    assert len(found["Per model"]) == 1 + len(SMOKE_MODELS)
    assert "CPU SMOKE RUN" in section


def test_the_section_is_written_between_markers_after_what_was_there(smoke):
    _, docs, out = smoke
    text = docs.read_text()
    assert text.startswith("# Benchmarks\n\nThe CPU sections, written by `make bench`.\n\n")
    assert text.count(gpu.START_MARKER) == 1 and text.count(gpu.END_MARKER) == 1
    block = gpu.read_block(text)
    assert block == f"{gpu.START_MARKER}\n{(out / gpu.MARKDOWN_NAME).read_text().strip()}\n{gpu.END_MARKER}"
    assert text.endswith(gpu.END_MARKER + "\n")


def test_a_saved_run_replaces_the_block_from_its_json(smoke, tmp_path, capsys):
    _, docs, out = smoke
    target = tmp_path / "benchmarks.md"
    target.write_text(docs.read_text().replace("CPU SMOKE RUN", "AN OLDER RUN") + "\nA later paragraph.\n")
    assert gpu.main(["--from-json", str(out / gpu.JSON_NAME), "--docs", str(target)]) == 0
    text = target.read_text()
    assert text.count(gpu.START_MARKER) == 1 and "AN OLDER RUN" not in text and "CPU SMOKE RUN" in text
    assert text.endswith("\nA later paragraph.\n")  # only the block changes
    assert "goal NOT MEASURED" in capsys.readouterr().out


def test_a_regenerated_report_keeps_the_gpu_block():
    block = f"{gpu.START_MARKER}\n## GPU proof\nfigures\n{gpu.END_MARKER}"
    previous = f"# Benchmarks\n\nold CPU figures\n\n{block}\n"
    kept = gpu.keep_block(previous, "# Benchmarks\n\nnew CPU figures\n")
    assert kept == f"# Benchmarks\n\nnew CPU figures\n\n{block}\n"
    assert gpu.keep_block("# Benchmarks\n", "new\n") == "new\n"  # nothing to keep
    assert gpu.keep_block(previous, kept) == kept  # never twice
    # `python -m bench` writes its report through keep_block.
    assert "keep_block(out.read_text(), report)" in (REPO / "bench" / "__main__.py").read_text()


def test_write_block_appends_once_then_replaces(tmp_path):
    path = tmp_path / "doc.md"
    gpu.write_block(path, "## one\n")
    gpu.write_block(path, "## two\n")
    assert path.read_text() == f"{gpu.START_MARKER}\n## two\n{gpu.END_MARKER}\n"


@pytest.mark.parametrize("case", gpu.CASES, ids=lambda case: case.key)
def test_the_real_configurations_build_with_the_installed_diffusers(case):
    import diffusers
    import torch

    expected = {"cogvideox-5b": 5.57e9, "cogvideox1.5-5b": 5.57e9, "wan2.2-5b": 5.00e9}[case.key]
    for class_name, config in ((case.transformer, case.transformer_config), (case.vae, case.vae_config)):
        cls = getattr(diffusers, class_name)
        assert set(config) <= set(inspect.signature(cls.__init__).parameters), class_name
    with torch.device("meta"):  # real sizes, no memory
        transformer = getattr(diffusers, case.transformer)(**case.transformer_config)
    parameters = sum(p.numel() for p in transformer.parameters())
    assert abs(parameters / expected - 1) < 0.01, parameters
    assert set(case.family.caches) <= {"fastercache", "pab", "first-block", "taylorseer"}


def test_the_flop_floor_is_the_prediction_s_arithmetic():
    # CogVideoX: the same FLOPs as bench/render.py's prediction table.
    assert gpu.COGVIDEOX_5B.flop_per_step == pytest.approx(ARCHITECTURES[1].flop_per_step)
    assert gpu.COGVIDEOX15_5B.flop_per_step == pytest.approx(ARCHITECTURES[2].flop_per_step)
    # facts.md: 6.6e14 per step, 33.6 s for 50 steps at an H100's 989 TFLOP/s.
    floor = STEPS * gpu.COGVIDEOX_5B.flop_per_step / (gpu_peak_tflops("NVIDIA H100 80GB HBM3") * 1e12)
    assert floor == pytest.approx(33.6, abs=0.05)
    assert 1.4 * floor == pytest.approx(gpu.GOAL_FINAL_S, abs=0.1)
    # Wan 2.2 TI2V-5B: 121 frames 1280×704 → 31 × 22 × 40 tokens, d 3072, feed-forward 14336.
    wan = gpu.WAN22_5B
    assert wan.tokens == 31 * 22 * 40
    assert wan.latent_shape == (1, 48, 31, 44, 80)
    assert wan.flop_per_step == pytest.approx(1.034e15, rel=1e-3)


def test_the_card_s_peak_comes_from_its_name():
    assert gpu_peak_tflops("NVIDIA H200") == 989
    assert gpu_peak_tflops("NVIDIA H100 80GB HBM3") == 989
    assert gpu_peak_tflops("NVIDIA H100 PCIe") == 756
    assert gpu_peak_tflops("NVIDIA A100-SXM4-80GB") == 312
    assert gpu_peak_tflops("NVIDIA L40S") == 362
    assert gpu_peak_tflops("NVIDIA L4") == 121
    assert gpu_peak_tflops("NVIDIA A10G") == 125
    assert gpu_peak_tflops("Some Future GPU") is None


def test_without_cuda_it_says_what_it_needs_and_exits_zero(monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu.main([]) == 0
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1 and out.startswith("bench.gpu needs a CUDA GPU")
    assert "--cpu-smoke" in out


def test_a_spent_budget_skips_everything_with_its_reason():
    run = gpu.measure(smoke=True, budget_s=0, only=None, say=lambda line: None)
    assert run.rows and all(row.skipped for row in run.rows)
    assert all("budget" in row.skipped or "ffmpeg" in row.skipped for row in run.rows)
    section = gpu.markdown(run)
    assert "### Not measured in this run" in section
    assert all(passed is None for _, passed, _ in gpu.goals(run))
    json.loads(run.to_json())


def test_goals_on_a_gpu_run_read_the_best_final_and_the_default_draft():
    # A run as a GPU would record it (figures made up): the goal takes the fastest final render.
    floor_step = gpu.COGVIDEOX_5B.flop_per_step / 989e12
    five, wan = gpu.COGVIDEOX_5B.name, gpu.WAN22_5B.name

    def final(model, variant, step, compile_s=None):
        ratio = step / floor_step if model == five else None
        return gpu.Row(model, variant, "step", step, step * 50, ratio, None, compile_s)

    run = gpu.Run("NVIDIA H200", False, "now", {"matmul_tflops": 790.0}, 989.0, 450.0)
    run.rows = [
        final(five, "bf16 eager", 2.2),
        final(five, "compile (mode default)", 1.6, compile_s=20.0),
        final(five, "fp8 + compile", 0.9, compile_s=30.0),
        gpu.Row(five, "draft cache: fastercache (the family's default)", "cache", 1.3, 26.0),
        gpu.Row(five, "draft cache: pab", "cache", 1.0, 20.0),
        final(wan, "bf16 eager", 3.0),
        gpu.Row(wan, "draft cache: first-block (the family's default)", "cache", 2.5, 50.0),
    ]
    results = {label.split(":")[0]: (passed, figures) for label, passed, figures in gpu.goals(run)}
    passed, figures = results["CogVideoX-5B, 49 frames 720×480, 50 steps ≤ 47 s (≤ 1.4× its FLOP floor)"]
    assert passed and figures.startswith("best 45.0 s (fp8 + compile, 1.34× floor) on NVIDIA H200")
    assert results[five] == (True, "26.0 s ÷ 110.0 s = 0.24 (both eager: the job's defaults)")
    assert results[wan][0] is False  # 50 s of a 150 s final
    lines = gpu.goal_lines(run)
    assert lines[0].startswith("goal PASS: CogVideoX-5B") and lines[2].startswith("goal FAIL: Wan")
    section = gpu.markdown(run)
    assert "on **NVIDIA H200** (989 TFLOP/s dense bf16" in section
    assert "ran at 790 TFLOP/s on this card" in section
    assert "| CogVideoX-5B | fp8 + compile | 0.900 | 45.0 | 1.34 | " in section


class _SimulatedCard:
    """Stands in for `gpu.Bench` on a pretend H200: each call advances a pretend clock by what it
    would take (assumed figures: eager steps of 1.2, 2.4 and 6.5 s, compiles of `compile_s`)."""

    STEP: ClassVar[dict[str, float]] = {"cogvideox-5b": 1.2, "wan2.2-5b": 2.4, "cogvideox1.5-5b": 6.5}
    DECODE: ClassVar[dict[str, float]] = {"cogvideox-5b": 10.0, "wan2.2-5b": 30.0, "cogvideox1.5-5b": 35.0}
    clock: ClassVar[list[float]] = [0.0]
    compile_s = 35.0

    def __init__(self, case, device, dtype, say):
        self.case, self.quantized, self.compiled, self.cached = case, False, False, False
        self.transformer = self.pipe = self.vae = self
        self.clock[0] += 8

    blocks = ()

    def enable_tiling(self):
        pass

    disable_tiling = enable_tiling

    def close(self):
        pass

    def rebuild_transformer(self):
        self.clock[0] += 5
        self.quantized = False

    def denoise(self, steps):
        step = self.STEP[self.case.key] * (0.6 if self.compiled else 1) / (1.5 if self.cached else 1)
        first = step + (self.compile_s if self.compiled else 0.5)
        self.clock[0] += first + step * (steps - 1)
        return [first] + [step] * (steps - 1)

    def decode(self):
        self.clock[0] += self.DECODE[self.case.key]
        return self.DECODE[self.case.key]

    def decode_warmup(self):
        self.clock[0] += 0.3 * self.DECODE[self.case.key]
        return 0.3 * self.DECODE[self.case.key], 0.25


@pytest.mark.parametrize("compile_s", [20.0, 60.0, 90.0])
def test_the_budget_keeps_the_goal_s_figures_and_the_deadline(monkeypatch, compile_s):
    import contextlib

    card = _SimulatedCard
    card.clock, card.compile_s = [20.0], compile_s  # 20 s of imports and CUDA start
    monkeypatch.setattr(gpu, "Bench", card)
    monkeypatch.setattr(gpu, "compile_blocks", lambda bench, **options: setattr(bench, "compiled", True))
    monkeypatch.setattr(gpu, "uncompile_blocks", lambda bench: setattr(bench, "compiled", False))
    monkeypatch.setattr(gpu, "quantize_fp8", lambda bench: setattr(bench, "quantized", True))
    monkeypatch.setattr(gpu, "fp8_unavailable", lambda device: None)
    monkeypatch.setattr(gpu, "checkpoint", lambda run: None)

    @contextlib.contextmanager
    def cache(bench, kind):
        bench.cached = True
        yield
        bench.cached = False

    monkeypatch.setattr(gpu, "job_cache", cache)
    run = gpu.Run("NVIDIA H200", False, "now", {}, 989.0, gpu.DEFAULT_BUDGET_S)
    budget, learned = gpu.Budget(gpu.DEFAULT_BUDGET_S, started=0.0, clock=lambda: card.clock[0]), {}
    for index, case in enumerate(gpu.CASES):
        budget.start_model(sum(c.reserve_s for c in gpu.CASES[index + 1 :]) + gpu.EXPORT_RESERVE_S)
        gpu.measure_model(
            case, run, budget, device="cuda", smoke=False, say=lambda line: None, learned=learned
        )
    done = {(row.model, row.variant) for row in run.rows if not row.skipped}
    five = gpu.COGVIDEOX_5B.name
    for variant in (
        "bf16 eager",
        "VAE decode",
        "fp8 + compile",
        "draft cache: fastercache (the family's default)",
    ):
        assert (five, variant) in done
    for case in gpu.CASES:  # every model at least eager and decoded
        assert {(case.name, "bf16 eager"), (case.name, "VAE decode")} <= done
    assert all(row.skipped.startswith("budget: needs about") for row in run.rows if row.skipped)
    assert card.clock[0] <= gpu.DEFAULT_BUDGET_S - gpu.EXPORT_RESERVE_S
