"""`python -m processing_job` renders from the command line with a progress bar, animates pictures,
makes drafts, and refuses bad input plainly."""

from __future__ import annotations

from processing_job.__main__ import main
from processing_job.export import probe_video

SMALL = ["--height", "64", "--width", "96", "--steps", "2"]


def test_the_cli_renders_an_mp4_to_the_chosen_path_with_a_progress_bar(tmp_path, capsys):
    out = tmp_path / "clips" / "corgi.mp4"
    code = main(["--prompt", "a corgi surfing", "--frames", "9", *SMALL, "--seed", "5", "--out", str(out)])
    assert code == 0
    assert probe_video(out).frames == 9
    printed = capsys.readouterr()
    assert "seed 5" in printed.out and "decoding" in printed.out and f"Wrote {out}" in printed.out
    assert "denoising: 100%" in printed.err and "2/2" in printed.err  # tqdm's bar


def test_a_picture_is_animated_by_the_image_model_in_its_shape(tmp_path, capsys, make_picture):
    picture = tmp_path / "portrait.png"
    picture.write_bytes(make_picture(200, 320))
    out = tmp_path / "animated.mp4"
    argv = ["--prompt", "the light shifts", "--image", str(picture), "--model", "tiny-1.5", "--frames", "17"]
    assert main([*argv, "--steps", "2", "--out", str(out)]) == 0
    video = probe_video(out)
    assert (video.width, video.height, video.frames, video.fps) == (96, 160, 17, 16.0)  # portrait, 1.5 rules
    assert "tiny CogVideoX 1.5 image-to-video" in capsys.readouterr().out


def test_a_draft_takes_the_models_draft_steps(tmp_path, capsys):
    out = tmp_path / "draft.mp4"
    assert (
        main(
            [
                "--prompt",
                "a corgi",
                "--frames",
                "9",
                "--height",
                "64",
                "--width",
                "96",
                "--draft",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "(draft, 2 steps)" in capsys.readouterr().out


def test_bad_input_is_an_error_on_stderr_and_exit_2(tmp_path, capsys):
    assert main(["--prompt", "a corgi", "--frames", "10", "--out", str(tmp_path / "x.mp4")]) == 2
    assert "8N+1 frames" in capsys.readouterr().err
    assert main(["--prompt", "a corgi", "--model", "7b"]) == 2
    assert "I don't know the model '7b'" in capsys.readouterr().err
    not_a_picture = tmp_path / "notes.png"
    not_a_picture.write_text("not a picture")
    assert main(["--prompt", "a corgi", "--image", str(not_a_picture)]) == 2
    assert "I couldn't open that file as a picture" in capsys.readouterr().err
    assert not (tmp_path / "x.mp4").exists()
