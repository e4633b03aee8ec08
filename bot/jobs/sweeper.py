"""The sweeper: finishes renders whose events never came.

EventBridge delivers at least once, but a Lambda can fail every retry, and a job can outlive its
event's DLQ. On a schedule, the sweeper looks at every render that is still active and hasn't changed
for a while, asks the renderer what became of it, and finishes it exactly as the missing event would
have (the same handler, so a late or duplicate event afterwards changes nothing). A render that has
waited for capacity too long is ended with an explanation: every accepted request ends in a video or
in an explanation.

Warm jobs (`processing_job.warm`) outlive their renders: the sweeper tells an idle one (a fresh
heartbeat, within its idle window) and a busy one from a stuck one (no heartbeat for a minute, or still
there well after its idle window ended), and stops a stuck one, whose renders its `describe` then
reports failed. MaxRuntime bounds a job whose heartbeat goes on while its render doesn't.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.conversation.sessions import Job
from bot.jobs.delivery import JobEventHandler
from bot.jobs.messages import JobStateChange, state_change_event
from bot.runtime.logs import log_context
from bot.runtime.services import Services

log = logging.getLogger(__name__)

FINISHED = ("Completed", "Failed", "Stopped")
GAVE_UP_WAITING = (
    "There was no GPU capacity for this render for {hours:g} hours, so I stopped waiting. "
    "Please press Generate again later."
)
LOST = "I lost track of this render. Please press Generate again."
NEVER_STARTED = "Something went wrong on my side before this render could start. Please press Try again."


class JobStatusSource(Protocol):
    def describe(self, job_id: str) -> JobStateChange | None:
        """The renderer's view of a job, or None if it never heard of it."""
        ...


@dataclass
class SweepReport:
    checked: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    given_up: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warm_busy: list[str] = field(default_factory=list)
    warm_idle: list[str] = field(default_factory=list)
    warm_stopped: list[str] = field(default_factory=list)  # stuck, or ended without leaving

    def to_dict(self) -> dict[str, list[str]]:
        found = {
            "checked": self.checked,
            "finished": self.finished,
            "given_up": self.given_up,
            "errors": self.errors,
        }
        if self.warm_busy or self.warm_idle or self.warm_stopped:
            found.update(warm_busy=self.warm_busy, warm_idle=self.warm_idle, warm_stopped=self.warm_stopped)
        return found


def sweep_stale_renders(
    services: Services, source: JobStatusSource, *, stale_after_s: float, max_queue_wait_s: float
) -> SweepReport:
    handler = JobEventHandler(services)
    report = SweepReport()
    now = services.clock()
    for job in services.store.active_jobs():
        if now - job.updated_at < stale_after_s:
            continue
        report.checked.append(job.job_id)
        with log_context(job_id=job.job_id, session=job.session_key):
            try:
                outcome = _reconcile(job, source, handler, now=now, max_queue_wait_s=max_queue_wait_s)
            except Exception:  # one broken render must not keep the others from being swept
                log.exception("sweeping %s failed", job.job_id)
                report.errors.append(job.job_id)
                continue
        if outcome == "finished":
            report.finished.append(job.job_id)
        elif outcome == "given_up":
            report.given_up.append(job.job_id)
    if hasattr(source, "warm_jobs"):
        try:
            sweep_warm_jobs(source, report, now=source.wall())  # type: ignore[attr-defined]
        except Exception:
            log.exception("sweeping the warm jobs failed")
    if report.checked or report.warm_stopped:
        log.info("swept %d stale renders", len(report.checked), extra=report.to_dict())
    start_waiting_renders(services)
    return report


def start_waiting_renders(services: Services) -> None:
    """Renders waiting in line for a slot start when one is free: after each sweep, so that none waits
    for ever when the render ending before it couldn't start it (a restart, a failed Lambda)."""
    from bot.conversation.rendering import Rendering

    try:
        Rendering(services).start_waiting()
    except Exception:
        log.exception("starting the renders waiting in line failed")


# ------------------------------------------------------------------------------------------ warm jobs

WARM_GRACE_S = 120  # past its idle window by this much, an idle job should have exited


def warm_job_verdict(view: Any, now: float) -> str:
    """busy, idle, stuck (alive by SageMaker's word, silent or overstaying), or ended."""
    beat = view.beat
    if view.status != "InProgress":
        return "ended"
    if not beat.fresh(now):
        return "stuck"
    if beat.state == "idle" and now > beat.idle_until + WARM_GRACE_S:
        return "stuck"
    return "busy" if beat.state == "busy" else "idle"


def sweep_warm_jobs(source: Any, report: SweepReport, *, now: float) -> None:
    """Look at every warm job with a heartbeat; stop the stuck ones (see the module's docstring)."""
    for view in source.warm_jobs():
        verdict = warm_job_verdict(view, now)
        if verdict == "busy":
            report.warm_busy.append(view.host)
        elif verdict == "idle":
            report.warm_idle.append(view.host)
        else:
            if verdict == "stuck":
                log.warning(
                    "the warm job %s looks stuck (last heartbeat %.0f s ago); stopping it",
                    view.host,
                    now - view.beat.updated,
                )
            source.stop_warm_job(view)
            report.warm_stopped.append(view.host)


def _reconcile(
    job: Job, source: JobStatusSource, handler: JobEventHandler, *, now: float, max_queue_wait_s: float
) -> str:
    state = source.describe(job.job_id)
    if state is None:
        if job.status == "queued" and job.launched_at is None:
            # Written, never handed to the renderer or its queue: what started it died on the way.
            handler.fail(job, NEVER_STARTED)
            return "given_up"
        if job.status == "queued":
            if now - job.created_at < max_queue_wait_s:
                return "waiting"  # still in the capacity queue
            handler.fail(job, GAVE_UP_WAITING.format(hours=round(max_queue_wait_s / 3600, 1)))
            return "given_up"
        handler.fail(job, LOST)
        return "given_up"
    if state.status in FINISHED or (state.status == "InProgress" and job.status == "queued"):
        log.info("the %s event for %s never came; handling it now", state.status, job.job_id)
        _handle_again(handler, job, state)
        return "finished" if state.status in FINISHED else "started"
    return "running"


# ------------------------------------------------------------------------------------ the local runner

INTERRUPTED = (
    "I was restarted while this render was under way, so it stopped before it finished. "
    "It doesn't count against your quota; please press Try again."
)


class LocalRenders(Protocol):
    def describe(self, job_id: str) -> JobStateChange | None:
        """Outcome, InProgress (running or waiting its turn), or None: launched before a restart."""
        ...


def reconcile_local_renders(services: Services, runner: LocalRenders, *, stale_after_s: float) -> SweepReport:
    """The local twin of the sweeper: the local runner's renders live in this process, so an active
    render it has never heard of was cut off by a restart (the bot was killed, or crashed), and is
    ended with an explanation and its quota given back; one whose end couldn't be recorded (a full
    disk) is recorded now. At start-up every active render is looked at (`stale_after_s=0`)."""
    handler = JobEventHandler(services)
    report = SweepReport()
    now = services.clock()
    for job in services.store.active_jobs():
        if now - job.updated_at < stale_after_s:
            continue  # (just reserved, its launch may still be on the way)
        if job.waiting_for_slot and job.launched_at is not None:
            continue  # in line for a slot, in the store: it survives restarts and starts below
        report.checked.append(job.job_id)
        with log_context(job_id=job.job_id, session=job.session_key):
            try:
                state = runner.describe(job.job_id)
                if state is None:
                    never_launched = job.status == "queued" and job.launched_at is None
                    handler.fail(job, NEVER_STARTED if never_launched else INTERRUPTED)
                    report.given_up.append(job.job_id)
                elif state.status in FINISHED:
                    log.info("recording the %s end of %s again", state.status, job.job_id)
                    _handle_again(handler, job, state)
                    report.finished.append(job.job_id)
            except Exception:  # one broken render must not keep the others from being reconciled
                log.exception("reconciling %s failed", job.job_id)
                report.errors.append(job.job_id)
    if report.given_up or report.finished:
        log.warning("reconciled local renders", extra=report.to_dict())
    start_waiting_renders(services)
    return report


def _handle_again(handler: JobEventHandler, job: Job, state: JobStateChange) -> None:
    """`state`, as the renderer reports it now, handled as if its event had just come."""
    handler.handle(
        state_change_event(
            job.job_id, state.status, failure_reason=state.failure_reason, exit_message=state.exit_message
        )
    )
