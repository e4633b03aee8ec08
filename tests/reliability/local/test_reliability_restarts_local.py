"""The local backend after a crash, by really killing it: `python -m bot serve` in a child process,
SIGKILLed mid-render or between an ack and its slow work, then started again on the same home. The
person hears what happened, the quota is given back, no render process survives; a second server on
the same home is refused; the render child sees none of the bot's secrets."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.blobs.filesystem import FilesystemBlobStore
from bot.blocks import GENERATE
from bot.jobs.local import PID_FILE, LocalJobLauncher
from bot.localslack import SlackStandIn
from bot.store.sqlite import SqliteSessionStore
from bot.sweeper import INTERRUPTED
from bot.unfinished import UNFINISHED
from tests.bot.conftest import ALICE, CHANNEL, SECRET, Person, roots
from tests.reliability.ledger import FaultCase, InputCase
from tests.reliability.local.test_reliability_renders_local import a_job

ROOT = Path(__file__).resolve().parents[3]


class Server:
    """`python -m bot serve` on a home, as someone runs it."""

    def __init__(self, slack: SlackStandIn, home: Path, model_cache: Path) -> None:
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url,
            "VIDEOBOT_HOME": str(home),
            "VIDEOBOT_MODEL_CACHE": str(model_cache),
            "VIDEOBOT_REFINER": "offline",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--port", "0"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline() if self.process.stdout else ""
        if "serving" not in line:
            self.process.kill()
            raise AssertionError(f"the server didn't start: {line}{self.process.stderr.read()}")
        self.url = line.split("serving ", 1)[1].split(" ")[0]
        slack.connect_app(self.url)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def servers(slack, tmp_path, model_cache) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; only its exit status is left to collect


def test_a_render_whose_server_was_killed_is_explained_after_the_restart_and_its_quota_given_back(
    slack, servers, tmp_path, model_cache, ledger
):
    home = tmp_path / "home"
    servers.append(Server(slack, home, model_cache))
    alice = Person(slack, ALICE)
    root = alice.video("a fox --frames 9")
    alice.click(alice.draft_card(root), GENERATE)
    pid_file = slack.wait_until(
        lambda: next(iter((home / "jobs").glob(f"*/{PID_FILE}")), None), what="the render's process"
    )
    render = int(pid_file.read_text())
    servers[0].kill()
    # The render dies with the server: it holds no GPU and no slot while nobody can deliver its video.
    gone = slack.wait_until(lambda: not alive(render) or None, timeout=10, what="the render process gone")
    servers.append(Server(slack, home, model_cache))
    told = slack.wait_until(
        lambda: next((m for m in slack.thread(CHANNEL, root.ts) if INTERRUPTED[:40] in m.text), None),
        what="the explanation in the thread",
    )
    store = SqliteSessionStore(home / "sessions.db")
    try:
        [job] = store.jobs_for_owner(ALICE)
        active = store.active_jobs()
    finally:
        store.close()
    ledger.fault(
        FaultCase(
            "Local runner",
            "the server is killed (SIGKILL) mid-render, then started again",
            "the render",
            explained=int(bool(told) and job.status == "failed"),
            lost=int(job.status != "failed"),
        )
    )
    assert gone
    assert job.status == "failed"  # failed renders give their quota back (bot.quotas)
    assert active == []


def test_a_request_whose_slow_work_was_cut_off_by_a_kill_is_explained_after_the_restart(
    slack, servers, tmp_path, model_cache, ledger
):
    home = tmp_path / "home"
    servers.append(Server(slack, home, model_cache))
    slack.inject("chat.postMessage", delay=20)  # the slow work is under way when the server dies
    answer = slack.slash_command("/video", "a fox", user=ALICE, channel=CHANNEL)
    assert answer.status == 200
    time.sleep(0.5)
    servers[0].kill()
    servers.append(Server(slack, home, model_cache))
    alice = Person(slack, ALICE)
    note = alice.told(UNFINISHED[:40])
    ledger.fault(
        FaultCase(
            "Local runner",
            "the server is killed (SIGKILL) between the ack and the slow work, then started again",
            "/video's slow work",
            explained=int(bool(note)),
        )
    )
    assert note
    assert [m for m in roots(slack) if "draft" in m.text.lower()] == []


def test_a_second_server_on_the_same_home_is_refused_naming_the_home(
    slack, servers, tmp_path, model_cache, ledger
):
    home = tmp_path / "home"
    servers.append(Server(slack, home, model_cache))
    second = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", "0"],
        cwd=ROOT,
        env={
            **os.environ,
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url,
            "VIDEOBOT_HOME": str(home),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    ledger.input(
        InputCase(
            "Access",
            "a second local server started on a home already in use",
            tried=1,
            answered=int(second.returncode == 2 and str(home) in second.stderr),
            failures=int(second.returncode != 2),
            note="refused at start (an OS lock on the home), the error names the home",
        )
    )
    assert second.returncode == 2
    assert "already running" in second.stderr and str(home.resolve()) in second.stderr
    assert "Traceback" not in second.stderr


SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-secret-bot-token",
    "SLACK_APP_TOKEN": "xapp-secret-app-token",
    "SLACK_SIGNING_SECRET": "secret-signing",
    "AWS_SECRET_ACCESS_KEY": "secret-aws-key",
    "AWS_SESSION_TOKEN": "secret-aws-session",
}


def test_the_render_child_sees_none_of_the_bots_secrets(tmp_path, monkeypatch, ledger):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    dump = tmp_path / "child-env"
    # The launcher runs `<python> -m processing_job.inference`; this "python" writes down what it got.
    python = tmp_path / "python"
    python.write_text(f"#!/bin/sh\nenv > {dump}\nexit 1\n")
    python.chmod(0o755)
    launcher = LocalJobLauncher(
        root=tmp_path / "jobs",
        blobs=FilesystemBlobStore(tmp_path / "blobs"),
        report=lambda event: None,
        model_cache=tmp_path / "models",
        python=str(python),
    )
    job = a_job()
    try:
        launcher.launch(job, job.job_spec)
        launcher.wait_idle(timeout=30)
    finally:
        launcher.shutdown()
    seen = dict(line.split("=", 1) for line in dump.read_text().splitlines() if "=" in line)
    leaked = [name for name, value in SECRETS.items() if name in seen or value in dump.read_text()]
    ledger.input(
        InputCase(
            "Access",
            "the bot's secrets (Slack tokens, signing secret, AWS keys) in the render child's environment",
            tried=len(SECRETS),
            answered=len(SECRETS) - len(leaked),
            failures=len(leaked),
            note="an allow-list: PATH, HOME, locale, VIDEOBOT_*, HF_*/TORCH_* caches, CUDA_*",
        )
    )
    assert leaked == []
    assert seen["HF_HOME"] == str(tmp_path / "hf")  # what the render needs still gets through
    assert "PATH" in seen and "VIDEOBOT_PROCESSING_DIR" in seen


def test_a_render_whose_end_couldnt_be_recorded_on_a_full_disk_is_recorded_once_space_is_freed(
    slack, videobot, alice, monkeypatch, ledger
):
    import errno
    import sqlite3

    from bot.blocks import GENERATE as generate
    from bot.sweeper import reconcile_local_renders
    from tests.bot.conftest import thread_text

    root = alice.video("a fox --frames 9")
    alice.click(alice.draft_card(root), generate)
    [job_id] = slack.wait_until(lambda: videobot.store.get_session(CHANNEL, root.ts).job_ids or None)
    slack.wait_until(lambda: videobot.store.get_job(job_id).status == "rendering" or None, what="rendering")

    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as disk:  # the disk fills up while the render runs
        disk.setattr(videobot.store, "save_job", full)
        disk.setattr(videobot.blobs, "put", no_space)
        videobot.launcher.wait_idle(timeout=120)
    assert videobot.store.get_job(job_id).status == "rendering"  # its end went unrecorded
    # Space is freed; the next round of the local upkeep (every minute) records the end.
    report = reconcile_local_renders(videobot, videobot.launcher, stale_after_s=0)
    job = videobot.store.get_job(job_id)
    text = thread_text(slack, root)
    ledger.fault(
        FaultCase(
            "Local runner",
            "the disk is full when the render ends (its outputs and its end can't be written)",
            "the render",
            explained=int(job.status == "failed"),
            lost=int(job.status != "failed"),
        )
    )
    assert report.finished == [job_id]
    assert job.status == "failed"
    # It had reached the GPU, so it counts against the daily cap like any render that ran (issue 13.5).
    assert "It counted against your daily quota" in text


def test_a_render_orphaned_by_an_earlier_run_is_killed_when_the_local_backend_starts(tmp_path):
    from bot.config import Settings
    from bot.services import build_local_services

    home = tmp_path / "home"
    folder = home / "jobs" / "cvideos-1-r1"
    folder.mkdir(parents=True)
    # A render (and the process group it leads) that outlived the bot that started it: no PR_SET_DEATHSIG
    # off Linux, or a process it started itself.
    orphan = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "processing_job.inference"],
        start_new_session=True,
    )
    (folder / PID_FILE).write_text(str(orphan.pid))
    services = build_local_services(Settings(home=home, slack_api_url="http://127.0.0.1:9/api/"))
    try:
        ended = orphan.wait(timeout=10)
    finally:
        services.close()
        if orphan.poll() is None:
            orphan.kill()
    assert ended == -signal.SIGKILL
    assert not (folder / PID_FILE).exists()
