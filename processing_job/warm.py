"""Warm renders: a job that, after its render, takes the next queued renders for the same model and
memory plan, keeping the pipeline loaded, then waits an idle window before it exits.

The hand-over lives in the bucket, under `warm/` (the job has S3 access and nothing else of the bot):

    warm/queue/<pool>/<ms>-<render>   a render offered to the warm jobs of `pool` (model and instance)
    warm/claims/<render>              who runs it: written once (S3 `If-None-Match: *`), so exactly one
                                      of a warm job, the launcher (a job of its own) or a Cancel wins
    warm/cancel/<render>              Cancel of a render a warm job has taken
    warm/hosts/<pool>/<host>          each warm job's heartbeat: busy or idle, when it is free, until when
                                      it takes work (MaxRuntime and the cost cap), when it exits if idle
    warm/outcomes/<render>            each render's end, for the sweeper when its event was lost

The render's spec and inputs stay where the bot puts them (`specs/<render>/`), its outputs go where
SageMaker would put them (`renders/<render>/`), and its progress and its end travel as events on the
renders' EventBridge bus (`Render Progress`, `Render State Change`), so the bot's job-events
function sees one render's end without waiting for the job's.

A render that fails is reported failed; the job goes on with the next. A job stops taking work when
the next render would end after its budget (`VIDEOBOT_WARM_BUDGET_S`, the lesser of MaxRuntime with a
margin and the cost cap at the instance's price), and exits after `VIDEOBOT_WARM_IDLE_S` with nothing
to do. `python -m processing_job.warm --serve` is the local runner's warm worker (one render folder
per line on stdin, a `done` line per render on the progress descriptor); `python -m processing_job.warm`
is the container's entry point (warm when the launcher set `VIDEOBOT_WARM_*`, else one render).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from processing_job.paths import POSTER_FILE, RESULT_FILE, VIDEO_FILE, JobPaths
from processing_job.progress import (
    EVENT_SOURCE,
    PROGRESS_FD_ENV,
    ProgressEvent,
    ProgressSink,
    RenderCancelled,
    sink_from_env,
)

log = logging.getLogger(__name__)

WARM_PREFIX = "warm/"
SPECS_PREFIX = "specs/"
RENDERS_PREFIX = "renders/"
OUTPUT_FILES = (VIDEO_FILE, POSTER_FILE, RESULT_FILE)  # result.json last: its presence means whole

# The job's warm settings (set by the launcher; absent or idle 0: one render per job, as before).
IDLE_ENV = "VIDEOBOT_WARM_IDLE_S"
BUCKET_ENV = "VIDEOBOT_WARM_BUCKET"
POOL_ENV = "VIDEOBOT_WARM_POOL"
HOST_ENV = "VIDEOBOT_WARM_HOST"
BUDGET_ENV = "VIDEOBOT_WARM_BUDGET_S"
POLL_ENV = "VIDEOBOT_WARM_POLL_S"
DEFAULT_POLL_S = 2.0
HEARTBEAT_S = 15.0  # a busy job's heartbeat; the bot counts one older than HOST_FRESH_S as gone
HOST_FRESH_S = 60.0

STATE_DETAIL_TYPE = "Render State Change"  # bot/jobs/messages.py listens for it
CLAIMED_BY_LAUNCHER = "launcher"  # the render got a job of its own
CLAIMED_BY_CANCEL = "cancelled"  # Cancel came first: nobody runs it

BUSY, IDLE = "busy", "idle"


def pool_name(model_key: str, instance_type: str) -> str:
    """The renders a warm job can take: same model, same instance (so the same memory plan)."""
    return f"{model_key}--{instance_type}"


@dataclass(frozen=True)
class HostBeat:
    """A warm job's heartbeat. Times are epoch seconds."""

    host: str
    pool: str
    state: str  # busy | idle
    updated: float
    free_at: float  # when it expects to be free (now, when idle)
    render_s: float  # how long its renders take (the longest so far, the model load left out)
    last_start_at: float  # it takes no render after this (its budget)
    idle_until: float  # when it exits if nothing comes

    def fresh(self, now: float) -> bool:
        return now - self.updated < HOST_FRESH_S

    def can_take(self, now: float, *, ahead: int, within_s: float) -> bool:
        """Whether it can start a render within `within_s` with `ahead` renders queued before it."""
        if not self.fresh(now):
            return False
        if self.state == BUSY and self.render_s <= 0:
            return False  # on its first render: nobody knows yet when it ends
        starts = max(now, self.free_at) + ahead * self.render_s
        if self.state == IDLE and ahead == 0 and now > self.idle_until:
            return False  # on its way out
        return starts <= now + within_s and starts <= self.last_start_at


class WorkQueue:
    """The `warm/` hand-over in the bucket (see the module's docstring); `client` is boto3's S3."""

    def __init__(self, client: Any, bucket: str, prefix: str = WARM_PREFIX) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    # renders

    def offer(self, pool: str, render: str, created_ms: int) -> None:
        self._put(f"queue/{pool}/{created_ms:013d}-{render}", {"render": render})

    def waiting(self, pool: str) -> list[tuple[str, str]]:
        """(key, render) of the renders offered to `pool`, oldest first. An entry that names no render
        (a render's id is a job id: never `..`, never a path) is left alone: its folder would be
        outside the job's root."""
        from processing_job.spec import JOB_ID_PATTERN

        keys = self._list(f"queue/{pool}/")
        offered = ((key, key.rsplit("/", 1)[-1].partition("-")[2]) for key in keys)
        return sorted((key, render) for key, render in offered if JOB_ID_PATTERN.match(render))

    def withdraw(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def claim(self, render: str, by: str) -> bool:
        """Take `render` for `by`; False if someone has it already (exactly one claim ever wins)."""
        from botocore.exceptions import ClientError

        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(f"claims/{render}"),
                Body=json.dumps({"by": by, "at": time.time()}).encode(),
                IfNoneMatch="*",
            )
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409"):
                return False
            raise
        return True

    def claimed_by(self, render: str) -> str | None:
        found = self._get(f"claims/{render}")
        return str(found.get("by")) if found else None

    def cancel(self, render: str) -> None:
        self._put(f"cancel/{render}", {"at": time.time()})

    def cancelled(self, render: str) -> bool:
        return self._get(f"cancel/{render}") is not None

    def record(
        self, render: str, status: str, *, host: str, failure_reason: str = "", exit_message: str = ""
    ) -> None:
        self._put(
            f"outcomes/{render}",
            {"status": status, "host": host, "failure_reason": failure_reason, "exit_message": exit_message},
        )

    def outcome(self, render: str) -> dict[str, Any] | None:
        return self._get(f"outcomes/{render}")

    # warm jobs

    def beat(self, beat: HostBeat) -> None:
        self._put(f"hosts/{beat.pool}/{beat.host}", asdict(beat))

    def leave(self, pool: str, host: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(f"hosts/{pool}/{host}"))

    def hosts(self, pool: str | None = None) -> list[HostBeat]:
        """Every warm job's last heartbeat (of `pool`, or of all pools)."""
        beats = []
        for key in self._list("hosts/" + (f"{pool}/" if pool else "")):
            found = self._get(key[len(self.prefix) :])
            if found:
                with contextlib.suppress(TypeError):
                    beats.append(HostBeat(**found))
        return beats

    # S3

    def _key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def _put(self, name: str, data: Mapping[str, Any]) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._key(name),
            Body=json.dumps(dict(data)).encode(),
            ContentType="application/json",
        )

    def _get(self, name: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"].read()
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code", "")) in ("NoSuchKey", "404"):
                return None
            raise
        try:
            found = json.loads(body)
        except ValueError:
            return None
        return found if isinstance(found, dict) else None

    def _list(self, name: str) -> list[str]:
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(name)):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys


# ------------------------------------------------------------------------------------- render states


class StateReporter:
    """Each render's end (and start) as a `Render State Change` event on the renders' bus, and in
    `warm/outcomes/` for the sweeper. Sent at once, with retries: an end is not a nicety."""

    def __init__(self, queue: WorkQueue, bus: str, host: str, *, client: Any = None) -> None:
        self.queue = queue
        self.bus = bus
        self.host = host
        self._client = client

    def report(self, render: str, status: str, *, failure_reason: str = "", exit_message: str = "") -> None:
        if status != "InProgress":
            try:
                self.queue.record(
                    render, status, host=self.host, failure_reason=failure_reason, exit_message=exit_message
                )
            except Exception:
                log.exception("could not record the end of %s", render)
        detail = {
            "job_id": render,
            "status": status,
            "failure_reason": failure_reason,
            "exit_message": exit_message,
            "host": self.host,
        }
        entry = {
            "Source": EVENT_SOURCE,
            "DetailType": STATE_DETAIL_TYPE,
            "Detail": json.dumps(detail),
            "EventBusName": self.bus,
        }
        for attempt in range(3):
            try:
                if self._client is None:
                    import boto3

                    self._client = boto3.client("events")
                if not self._client.put_events(Entries=[entry]).get("FailedEntryCount"):
                    return
            except Exception as error:
                log.warning("could not put the %s event of %s (%s)", status, render, error)
            time.sleep(0.5 * 2**attempt)
        log.error("gave up sending the %s event of %s; the sweeper will find its outcome", status, render)


class CancelWatch:
    """Watches `warm/cancel/<render>` while the render runs (and beats the job's heartbeat); wraps
    the render's progress sink so that the next step after a Cancel raises RenderCancelled."""

    def __init__(
        self, inner: ProgressSink, check: Callable[[], bool], beat: Callable[[], None], poll_s: float
    ):
        self.inner = inner
        self._check = check
        self._beat = beat
        self._poll_s = poll_s
        self._stop = threading.Event()
        self.cancelled = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cancel-watch", daemon=True)

    def __enter__(self) -> CancelWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        last_beat = time.monotonic()
        while not self._stop.wait(self._poll_s):
            try:
                if self._check():
                    self.cancelled.set()
                    return
                if time.monotonic() - last_beat >= HEARTBEAT_S:
                    self._beat()
                    last_beat = time.monotonic()
            except Exception:
                log.warning("the cancel watch could not look", exc_info=True)

    def emit(self, event: ProgressEvent) -> None:
        if self.cancelled.is_set():
            raise RenderCancelled(event.job_id)
        self.inner.emit(event)


# --------------------------------------------------------------------------------------- the warm job


RenderFn = Callable[[JobPaths, ProgressSink], dict[str, Any]]


def default_render(pipelines: Any) -> RenderFn:
    """inference.run_job with the job's pipeline kept between renders."""
    from processing_job import inference

    def render(paths: JobPaths, sink: ProgressSink) -> dict[str, Any]:
        spec = inference.read_spec(paths)
        return inference.run_job(spec, paths, sink, quiet_libraries=True, pipelines=pipelines)

    return render


@dataclass(frozen=True)
class Outcome:
    render: str
    status: str  # Completed | Failed | Stopped
    seconds: float
    failure: str = ""


class WarmJob:
    """The loop (see the module's docstring). `render` runs one render folder; `sink` carries every
    render's progress (each event names its render)."""

    def __init__(
        self,
        *,
        queue: WorkQueue,
        states: StateReporter,
        pool: str,
        host: str,
        root: Path,
        model_dir: Path,
        sink: ProgressSink,
        render: RenderFn,
        idle_s: float,
        budget_s: float,
        poll_s: float = DEFAULT_POLL_S,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.queue = queue
        self.states = states
        self.pool = pool
        self.host = host
        self.root = root
        self.model_dir = model_dir
        self.sink = sink
        self.render = render
        self.idle_s = idle_s
        self.budget_s = budget_s
        self.poll_s = poll_s
        self.clock = clock
        self.wall = wall
        self.sleep = sleep
        self.started = clock()
        self.render_s = 0.0  # the longest render so far, its model load left out
        self.busy_since = 0.0  # when the render under way began (epoch)
        self.outcomes: list[Outcome] = []
        self.exit_reason = ""

    # the loop

    def run(self, first: JobPaths | None = None) -> list[Outcome]:
        """Render `first` (the job's own spec), then take renders until idle or out of budget."""
        if first is not None:
            self._beat(BUSY)
            self._run_one(first, self._render_id(first))
        idle_since = self.clock()
        while True:
            if not self._time_for_another():
                self.exit_reason = "budget"
                break
            taken = self._take_next()
            if taken is not None:
                self._run_claimed(taken)
                idle_since = self.clock()
                continue
            if self.clock() - idle_since >= self.idle_s:
                self.exit_reason = "idle"
                break
            self._beat(IDLE, idle_until=self.wall() + self.idle_s - (self.clock() - idle_since))
            self.sleep(min(self.poll_s, max(0.0, self.idle_s - (self.clock() - idle_since))))
        with contextlib.suppress(Exception):
            self.queue.leave(self.pool, self.host)
        log.info("warm job %s exits (%s) after %d renders", self.host, self.exit_reason, len(self.outcomes))
        return self.outcomes

    def _time_for_another(self) -> bool:
        """The next render must end within the budget (MaxRuntime's margin and the cost cap)."""
        return self.clock() - self.started + self.render_s <= self.budget_s

    def _take_next(self) -> str | None:
        for key, render in self.queue.waiting(self.pool):
            won = self.queue.claim(render, self.host)
            with contextlib.suppress(Exception):
                self.queue.withdraw(key)  # taken, by us or by someone else: off the queue either way
            if won:
                return render
        return None

    def _run_claimed(self, render: str) -> None:
        self._beat(BUSY)
        folder = self.root / render
        shutil.rmtree(folder, ignore_errors=True)
        paths = JobPaths.in_folder(folder)
        paths.input_dir.mkdir(parents=True)
        paths.output_dir.mkdir()
        with contextlib.suppress(FileExistsError):
            paths.model_dir.symlink_to(self.model_dir, target_is_directory=True)
        try:
            from processing_job.weights import download_prefix

            download_prefix(self.queue.client, self.queue.bucket, f"{SPECS_PREFIX}{render}/", paths.input_dir)
        except Exception:
            log.exception("could not read the inputs of %s", render)  # the details stay in the job's log
            self._end(Outcome(render, "Failed", 0.0, "The render's inputs could not be read."))
            return
        try:
            self._run_one(paths, render)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _run_one(self, paths: JobPaths, render: str) -> None:
        from processing_job.inference import failure_message, read_spec, write_failure

        self.states.report(render, "InProgress")
        started = self.clock()
        self.busy_since = self.wall()
        watch = CancelWatch(
            self.sink, lambda: self.queue.cancelled(render), lambda: self._beat(BUSY), self.poll_s
        )
        try:
            with watch:
                result = self.render(paths, watch)
        except RenderCancelled:
            self._end(Outcome(render, "Stopped", self.clock() - started, "Stopped on request."))
            return
        except Exception as error:  # one render failing doesn't end the job
            log.exception("render %s failed", render)
            spec = None
            with contextlib.suppress(Exception):
                spec = read_spec(paths)
            message = failure_message(error, spec)
            write_failure(paths.failure_file, message)
            self._end(Outcome(render, "Failed", self.clock() - started, message))
            return
        seconds = self.clock() - started
        model_load = float(result.get("timings_s", {}).get("model_load", 0.0) or 0.0)
        self.render_s = max(self.render_s, seconds - model_load)
        try:
            self._upload(render, paths.output_dir)
        except Exception:
            log.exception("could not upload the outputs of %s", render)  # the details stay in the job's log
            self._end(Outcome(render, "Failed", seconds, "The video could not be saved."))
            return
        self._end(Outcome(render, "Completed", seconds))

    def _end(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        if outcome.status == "Completed":
            self.states.report(outcome.render, "Completed")
        elif outcome.status == "Stopped":
            self.states.report(outcome.render, "Stopped", failure_reason=outcome.failure)
        else:
            self.states.report(
                outcome.render,
                "Failed",
                failure_reason="AlgorithmError: the render failed in a warm job.",
                exit_message=outcome.failure,
            )

    def _upload(self, render: str, outputs: Path) -> None:
        for name in OUTPUT_FILES:
            path = outputs / name
            if path.is_file():
                self.queue.client.upload_file(
                    str(path), self.queue.bucket, f"{RENDERS_PREFIX}{render}/{name}"
                )

    def _beat(self, state: str, *, idle_until: float | None = None) -> None:
        now = self.wall()
        left = self.budget_s - (self.clock() - self.started)
        beat = HostBeat(
            host=self.host,
            pool=self.pool,
            state=state,
            updated=now,
            free_at=max(now, self.busy_since + self.render_s) if state == BUSY else now,
            render_s=self.render_s,
            last_start_at=now + left - self.render_s,
            idle_until=idle_until if idle_until is not None else now + self.render_s + self.idle_s,
        )
        try:
            self.queue.beat(beat)
        except Exception:
            log.warning("could not write the heartbeat of %s", self.host, exc_info=True)

    @staticmethod
    def _render_id(paths: JobPaths) -> str:
        from processing_job.inference import read_spec

        try:
            return read_spec(paths).job_id
        except Exception:
            return paths.root.name


def warm_entry(env: Mapping[str, str] | None = None) -> int | None:
    """The container's warm mode, when the launcher asked for it; None: run one render as before."""
    env = os.environ if env is None else env
    try:
        idle_s = float(env.get(IDLE_ENV) or 0)
    except ValueError:
        idle_s = 0.0
    if idle_s <= 0 or not env.get(BUCKET_ENV):
        return None
    import boto3
    from botocore.config import Config

    from processing_job.inference import PipelineCache, close_sink
    from processing_job.progress import EVENT_BUS_ENV
    from processing_job.weights import start_prefetch

    paths = JobPaths.from_env(env)
    start_prefetch(paths.model_dir, env)
    client = boto3.client("s3", config=Config(max_pool_connections=40))
    queue = WorkQueue(client, env[BUCKET_ENV])
    host = env.get(HOST_ENV) or "host"
    sink = sink_from_env(env)
    job = WarmJob(
        queue=queue,
        states=StateReporter(queue, env.get(EVENT_BUS_ENV) or "default", host),
        pool=env.get(POOL_ENV) or "default",
        host=host,
        root=paths.root / "warm",
        model_dir=paths.model_dir,
        sink=sink,
        render=default_render(PipelineCache()),
        idle_s=idle_s,
        budget_s=float(env.get(BUDGET_ENV) or 3300),
        poll_s=float(env.get(POLL_ENV) or DEFAULT_POLL_S),
    )
    try:
        job.run(paths if paths.spec_file.is_file() else None)
    finally:
        close_sink(sink)
    return 0  # each render's end was reported on its own; the job itself did its work


# ------------------------------------------------------------------------------ the local warm worker


def serve(stdin: Any, progress_fd: int, *, idle_s: float) -> int:
    """The local runner's warm worker: one render folder per line on `stdin`, its progress as JSON
    lines on `progress_fd` and then `{"done": <render>, "code": 0|1}`; exits on EOF or after `idle_s`
    with nothing to do (the launcher retires it before then)."""
    import select

    from processing_job.inference import PipelineCache, main
    from processing_job.progress import JsonLinesSink

    pipelines = PipelineCache()
    sink = JsonLinesSink(progress_fd)
    fd = stdin.fileno()
    buffer = b""
    while True:
        if b"\n" not in buffer:
            ready, _, _ = select.select([fd], [], [], idle_s if idle_s > 0 else None)
            if not ready:
                return 0  # idle for the whole window
            chunk = os.read(fd, 65536)
            if not chunk:
                return 0
            buffer += chunk
            continue
        line, buffer = buffer.split(b"\n", 1)
        if not line.strip():
            continue
        folder = Path(json.loads(line)["folder"])
        paths = JobPaths.in_folder(folder)
        code = main(paths, _Unclosed(sink), pipelines=pipelines)
        done = json.dumps({"done": folder.name, "code": code, "loads": pipelines.loads}) + "\n"
        os.write(progress_fd, done.encode())


class _Unclosed:
    """A sink `main` may close after each render without closing the worker's."""

    def __init__(self, inner: ProgressSink) -> None:
        self.inner = inner

    def emit(self, event: ProgressEvent) -> None:
        self.inner.emit(event)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if sys.argv[1:2] == ["--serve"]:  # the local runner's warm worker
        sys.exit(
            serve(sys.stdin, int(os.environ[PROGRESS_FD_ENV]), idle_s=float(os.environ.get(IDLE_ENV) or 0))
        )
    # The container's entry point: warm when the launcher asked for it, else one render as before.
    code = warm_entry()
    if code is None:
        from processing_job.inference import main

        code = main(own_process=True)
    sys.exit(code)
