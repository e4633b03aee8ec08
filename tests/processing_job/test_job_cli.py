"""`python -m processing_job` renders from the command line and refuses bad input plainly."""

from __future__ import annotations

from processing_job.__main__ import main
from processing_job.export import probe_video


def test_the_cli_renders_an_mp4_to_the_chosen_path(tmp_path, capsys):
    out = tmp_path / "clips" / "corgi.mp4"
    size = ["--frames", "9", "--height", "64", "--width", "96", "--steps", "2"]
    code = main(["--prompt", "a corgi surfing", *size, "--seed", "5", "--out", str(out)])
    assert code == 0
    assert probe_video(out).frames == 9
    printed = capsys.readouterr().out
    assert "seed 5" in printed and "denoising 2/2" in printed and f"Wrote {out}" in printed


def test_bad_input_is_an_error_on_stderr_and_exit_2(tmp_path, capsys):
    assert main(["--prompt", "a corgi", "--frames", "10", "--out", str(tmp_path / "x.mp4")]) == 2
    assert "8N+1 frames" in capsys.readouterr().err
    assert main(["--prompt", "a corgi", "--model", "7b"]) == 2
    assert "I don't know the model '7b'" in capsys.readouterr().err
    assert not (tmp_path / "x.mp4").exists()
