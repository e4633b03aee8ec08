"""The local job runner: runs `processing_job` beside the bot, the way SageMaker runs the container.

Each render gets a folder laid out like `/opt/ml/processing` and runs the job's own entry point in a
child process (so torch never enters the bot, a crash can't take the bot down, and Cancel can stop
it). Its progress comes back over a pipe; its outcome is reported as the same EventBridge-shaped
events the cloud sends, to the same handler. Renders run one at a time by default, like one GPU.

Warm (`warm_idle_s` > 0): each render slot keeps one worker process (`python -m processing_job.warm
--serve`) with the pipeline loaded across renders, so the next render starts at once; it is handed
each render's folder on its stdin and answers with the render's progress and a `done` line. Cancel
kills the worker (the next render starts a new one); a worker that crashes fails only the render it
was running; one idle for the whole window is retired (and exits by itself). While it runs a render,
the worker's id is that render's `render.pid`, so a restart's reconciliation finds it as before.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bot.adapters.blobs import RENDER_OUTPUTS, render_key
from bot.conversation.ports import BlobStore, Launch
from bot.conversation.sessions import Job
from bot.jobs.messages import JobStateChange, parse_job_event, progress_event, state_change_event
from processing_job.paths import JobPaths
from processing_job.progress import PROGRESS_FD_ENV
from processing_job.spec import JobSpec
from processing_job.warm import IDLE_ENV as WARM_IDLE_ENV
from processing_job.weights import MODEL_CACHE_ENV

log = logging.getLogger(__name__)

# What the render child may see of the bot's environment: what a Python process, the job's own
# settings, the model caches and the GPU need. Never the Slack tokens, the signing secret or cloud
# credentials: the child runs third-party model code.
CHILD_ENV_NAMES = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP",
        "SYSTEMROOT", "PYTHONPATH", "PYTHONHASHSEED", "PYTHONUNBUFFERED", "VIRTUAL_ENV",
        "LD_LIBRARY_PATH", "XDG_CACHE_HOME", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
        "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "NVIDIA_VISIBLE_DEVICES",
    }
)  # fmt: skip
CHILD_ENV_PREFIXES = ("VIDEOBOT_", "HF_", "HUGGINGFACE_", "TRANSFORMERS_", "DIFFUSERS_", "TORCH", "PYTORCH_",
                      "CUDA_", "NCCL_", "LC_")  # fmt: skip


PID_FILE = "render.pid"  # in the render's folder while its process runs: a restart finds orphans by it
RENDER_MODULE = "processing_job.inference"
WARM_MODULE = "processing_job.warm"
WARM_LOG = "warm-worker.log"
RETIRE_MARGIN_S = 1.0  # retire an idle worker this long before it would exit by itself
FINISHED = frozenset({"Completed", "Failed", "Stopped"})


def child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The part of `environ` a render child is given (see CHILD_ENV_NAMES)."""
    return {
        name: value
        for name, value in environ.items()
        if name in CHILD_ENV_NAMES or name.startswith(CHILD_ENV_PREFIXES)
    }


class LocalJobLauncher:
    def __init__(
        self,
        *,
        root: Path,
        blobs: BlobStore,
        report: Callable[[dict[str, Any]], None],
        model_cache: Path,
        max_parallel: int = 1,
        python: str = sys.executable,
        extra_env: Mapping[str, str] | None = None,
        warm_idle_s: float = 0.0,
    ) -> None:
        self._root = root
        self._blobs = blobs
        self._report = report
        self._model_cache = model_cache
        self._python = python
        self._extra_env = dict(extra_env or {})
        self._executor = ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="render")
        self._max_parallel = max_parallel
        self._lock = threading.Lock()
        self._futures: dict[str, Future[None]] = {}
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._stopped: set[str] = set()
        # Each render's last state-change event, kept so that one whose delivery failed (a full disk,
        # say) can be delivered again by the periodic reconciliation (bot.jobs.sweeper).
        self._outcomes: dict[str, dict[str, Any]] = {}
        self._warm_idle_s = warm_idle_s
        self._slot = threading.local()  # each render thread's warm worker
        self._workers: set[subprocess.Popen[bytes]] = set()
        self.workers_started = 0  # warm workers started (each loads the model once)

    def launch(self, job: Job, spec: JobSpec) -> Launch:
        with self._lock:
            if job.job_id in self._futures:
                return Launch(state="started")  # already running: launching is idempotent
            ahead = sum(1 for f in self._futures.values() if not f.done())
            self._futures[job.job_id] = self._executor.submit(self._run_reporting, job, spec)
        if ahead >= self._max_parallel:
            return Launch(state="queued", queue_position=ahead - self._max_parallel + 1)
        return Launch(state="started")

    def stop(self, job_id: str) -> None:
        with self._lock:
            self._stopped.add(job_id)
            process = self._processes.get(job_id)
            future = self._futures.get(job_id)
            # Still waiting for its turn: it never starts, and the thread hears so now, not when
            # the render ahead of it ends.
            never_started = future is not None and future.cancel()
        if never_started:
            self._finish(state_change_event(job_id, "Stopped", failure_reason="Cancelled before it started."))
        elif process is not None and process.poll() is None:
            _signal_group(process, signal.SIGTERM)
        # Otherwise the render hasn't started its process yet: `_execute` sees the mark when it does.

    def wait_idle(self, timeout: float | None = None) -> None:
        """Block until every launched render has finished and reported (for the demo and tests)."""
        with self._lock:
            futures = list(self._futures.values())
        for future in futures:
            if not future.cancelled():
                future.result(timeout=timeout)

    def describe(self, job_id: str) -> JobStateChange | None:
        """This runner's view of a render: its outcome once it ended, InProgress while it is running or
        waiting its turn, None if this runner never heard of it (launched before a restart)."""
        with self._lock:
            outcome = self._outcomes.get(job_id)
            known = job_id in self._futures
        if outcome is not None:
            parsed = parse_job_event(outcome)
            if isinstance(parsed, JobStateChange):
                return parsed
        return JobStateChange(job_id=job_id, status="InProgress") if known else None

    def kill_orphans(self) -> list[str]:
        """Kill the render processes a previous run of the bot left behind (it was killed, or crashed,
        before they ended); returns their jobs' ids. Only for a runner that owns the folder."""
        killed = []
        for pid_file in sorted(self._root.glob(f"*/{PID_FILE}")):
            job_id = pid_file.parent.name
            with self._lock:
                if job_id in self._processes:
                    continue  # ours
            try:
                pid = int(pid_file.read_text("ascii").strip())
            except (OSError, ValueError):
                pid = 0
            if pid > 0 and _is_render_group(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
                    killed.append(job_id)
                    log.warning("killed the orphaned render %s (process group %d)", job_id, pid)
            pid_file.unlink(missing_ok=True)
        return killed

    def shutdown(self) -> None:
        with self._lock:
            for process in [*self._processes.values(), *self._workers]:
                if process.poll() is None:
                    _signal_group(process, signal.SIGTERM)
        self._executor.shutdown(wait=True, cancel_futures=True)

    # the worker

    def _run_reporting(self, job: Job, spec: JobSpec) -> None:
        try:
            self._run(job, spec)
        except Exception as error:  # the runner itself broke: the thread must still hear about it
            log.exception("local render %s failed in the runner", job.job_id)
            failed = state_change_event(
                job.job_id, "Failed", failure_reason=f"The local job runner failed ({type(error).__name__})."
            )
            try:
                self._finish(failed)
            except Exception:  # (a full disk, say): remembered, the local upkeep records it later
                log.exception("could not record the end of local render %s", job.job_id)

    def _run(self, job: Job, spec: JobSpec) -> None:
        if job.job_id in self._stopped:
            self._finish(
                state_change_event(job.job_id, "Stopped", failure_reason="Cancelled before it started.")
            )
            return
        folder = self._root / job.job_id
        paths = self._prepare(folder, job, spec)
        self._report(state_change_event(job.job_id, "InProgress"))
        returncode = self._execute(job.job_id, paths, folder / "job.log")
        if job.job_id in self._stopped:
            self._finish(state_change_event(job.job_id, "Stopped", failure_reason="Stopped on request."))
        elif returncode == 0:
            self._collect(job.job_id, paths.output_dir)
            self._finish(state_change_event(job.job_id, "Completed"))
        else:
            message_file = paths.failure_file
            exit_message = message_file.read_text("utf-8", "replace") if message_file.is_file() else ""
            self._finish(
                state_change_event(
                    job.job_id,
                    "Failed",
                    failure_reason=f"AlgorithmError: the job exited with code {returncode}.",
                    exit_message=exit_message,
                )
            )

    def _finish(self, event: dict[str, Any]) -> None:
        """Report a render's end, remembering it first (see `describe`)."""
        job_id = event["detail"]["ProcessingJobName"].removeprefix("videobot-")
        with self._lock:
            self._outcomes[job_id] = event
        self._report(event)

    def _prepare(self, folder: Path, job: Job, spec: JobSpec) -> JobPaths:
        if folder.exists():
            shutil.rmtree(folder)
        paths = JobPaths.in_folder(folder)
        paths.input_dir.mkdir(parents=True)
        paths.output_dir.mkdir()
        paths.spec_file.write_text(spec.to_json(), "utf-8")
        for name, key in job.input_blobs(spec).items():
            with self._blobs.open(key) as source, paths.input_file(name).open("wb") as target:
                shutil.copyfileobj(source, target)
        return paths

    def _execute(self, job_id: str, paths: JobPaths, log_path: Path) -> int:
        if self._warm_idle_s > 0:
            return self._execute_warm(job_id, paths, log_path)
        read_fd, write_fd = os.pipe()
        env = {
            **child_environment(os.environ),
            **self._extra_env,
            **paths.env(),
            MODEL_CACHE_ENV: str(self._model_cache),
            PROGRESS_FD_ENV: str(write_fd),
        }
        with log_path.open("wb") as job_log:
            # Its own process group (Cancel and a restart stop the render and whatever it started), and
            # on Linux it dies with the thread that started it, so a killed bot leaves no render behind.
            process = subprocess.Popen(
                [self._python, "-m", RENDER_MODULE],
                env=env,
                pass_fds=(write_fd,),
                stdin=subprocess.DEVNULL,
                stdout=job_log,
                stderr=subprocess.STDOUT,
                cwd=Path(__file__).resolve().parents[3],
                start_new_session=True,
                preexec_fn=_die_with_parent(os.getpid()),  # prctl and getppid only
            )
            os.close(write_fd)
            pid_file = log_path.parent / PID_FILE
            pid_file.write_text(str(process.pid), "ascii")
            with self._lock:
                self._processes[job_id] = process
                cancelled = job_id in self._stopped  # Cancel came while the render was being set up
            if cancelled:
                _signal_group(process, signal.SIGTERM)
            with os.fdopen(read_fd, "rb") as progress:
                for line in progress:
                    self._forward_progress(job_id, line)
            returncode = process.wait()
        with self._lock:
            self._processes.pop(job_id, None)
        pid_file.unlink(missing_ok=True)
        return returncode

    # the warm worker

    def _execute_warm(self, job_id: str, paths: JobPaths, log_path: Path) -> int:
        worker = self._warm_worker()
        pid_file = log_path.parent / PID_FILE
        pid_file.write_text(str(worker.process.pid), "ascii")
        with self._lock:
            self._processes[job_id] = worker.process
            cancelled = job_id in self._stopped  # Cancel came while the render was being set up
        code: int | None = None
        try:
            if cancelled:
                _signal_group(worker.process, signal.SIGTERM)
            else:
                worker.send(paths.root)
            while True:
                line = worker.progress.readline()
                if not line:
                    break  # the worker ended: cancelled, or crashed
                done = _done_line(line)
                if done is not None:
                    code = done
                    break
                self._forward_progress(job_id, line)
        except OSError:
            log.warning("the warm worker for %s went away", job_id, exc_info=True)
        if code is None:
            returncode = worker.end()
            self._slot.worker = None
            code = returncode if returncode else 1
        else:
            worker.last_used = time.monotonic()
        with self._lock:
            self._processes.pop(job_id, None)
        pid_file.unlink(missing_ok=True)
        return code

    def _warm_worker(self) -> _WarmWorker:
        """This render thread's worker: the one it has, while alive and not idle too long, else a new one."""
        worker: _WarmWorker | None = getattr(self._slot, "worker", None)
        if worker is not None:
            idle = time.monotonic() - worker.last_used
            if worker.process.poll() is None and idle < self._warm_idle_s - RETIRE_MARGIN_S:
                return worker
            worker.end()
        read_fd, write_fd = os.pipe()
        env = {
            **child_environment(os.environ),
            **self._extra_env,
            MODEL_CACHE_ENV: str(self._model_cache),
            PROGRESS_FD_ENV: str(write_fd),
            WARM_IDLE_ENV: str(self._warm_idle_s),
        }
        self._root.mkdir(parents=True, exist_ok=True)
        with (self._root / WARM_LOG).open("ab") as worker_log:
            process = subprocess.Popen(
                [self._python, "-m", WARM_MODULE, "--serve"],
                env=env,
                pass_fds=(write_fd,),
                stdin=subprocess.PIPE,
                stdout=worker_log,
                stderr=subprocess.STDOUT,
                cwd=Path(__file__).resolve().parents[3],
                start_new_session=True,
                preexec_fn=_die_with_parent(os.getpid()),  # prctl and getppid only
            )
        os.close(write_fd)
        worker = _WarmWorker(process, os.fdopen(read_fd, "rb"))
        with self._lock:
            self._workers = {w for w in self._workers if w.poll() is None} | {process}
        self.workers_started += 1
        self._slot.worker = worker
        return worker

    def _forward_progress(self, job_id: str, line: bytes) -> None:
        try:
            event = json.loads(line)
            self._report(
                progress_event(
                    job_id,
                    phase=event["phase"],
                    step=int(event.get("step", 0)),
                    total=int(event.get("total", 0)),
                    elapsed_s=float(event.get("elapsed_s", 0.0)),
                )
            )
        except Exception:  # progress is a nicety; a bad line or a failed update must not stop the render
            log.warning("could not forward progress for %s", job_id, exc_info=True)

    def _collect(self, job_id: str, outputs: Path) -> None:
        """Put the outputs where SageMaker would: the render's prefix in the blob store."""
        for name in RENDER_OUTPUTS:
            path = outputs / name
            if path.is_file():
                with path.open("rb") as data:
                    self._blobs.put(render_key(job_id, name), data)


class _WarmWorker:
    """One warm worker process: its stdin for render folders, its progress pipe, when it last worked."""

    def __init__(self, process: subprocess.Popen[bytes], progress: Any) -> None:
        self.process = process
        self.progress = progress
        self.last_used = time.monotonic()

    def send(self, folder: Path) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps({"folder": str(folder)}) + "\n").encode())
        self.process.stdin.flush()

    def end(self) -> int:
        """Stop it (if it still runs) and collect it; its exit code."""
        if self.process.poll() is None:
            _signal_group(self.process, signal.SIGTERM)
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        try:
            returncode = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _signal_group(self.process, signal.SIGKILL)
            returncode = self.process.wait()
        with contextlib.suppress(OSError):
            self.progress.close()
        return returncode


def _done_line(line: bytes) -> int | None:
    """The worker's `{"done": ..., "code": n}` after a render, as its exit code; None for progress."""
    if b'"done"' not in line:
        return None
    try:
        return int(json.loads(line)["code"])
    except (ValueError, KeyError, TypeError):
        return None


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    """`signum` to the render and everything it started (its process group)."""
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signum)


def _is_render_group(pid: int) -> bool:
    """Whether `pid` still leads a render's process group (not a stranger that got the number since)."""
    proc = Path(f"/proc/{pid}")
    if Path("/proc/self").exists():
        try:
            command = (proc / "cmdline").read_bytes()
            ours = RENDER_MODULE.encode() in command or WARM_MODULE.encode() in command
            return ours and os.getpgid(pid) == pid
        except (OSError, ProcessLookupError):
            return False
    try:  # no /proc (macOS): the group's leader is at least still there
        return os.getpgid(pid) == pid
    except ProcessLookupError:
        return False


PR_SET_DEATHSIG = 1
_prctl: Any = None
if sys.platform.startswith("linux"):
    with contextlib.suppress(OSError, AttributeError):
        _prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here: the child only calls it


def _die_with_parent(parent: int) -> Any:
    """A preexec_fn: the child is killed when the thread that started it ends (Linux's
    PR_SET_DEATHSIG), and exits at once if the bot already died before that was set."""
    if _prctl is None:
        return None

    def arm() -> None:
        _prctl(PR_SET_DEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return arm
