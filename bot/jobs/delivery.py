"""Job events → Slack: progress in place, the finished video in the thread, or an explanation.

This is the completion Lambda's logic, and the local runner reports through it too. Events may come
twice, late or out of order: every step is a conditional transition of the job, so a duplicate
`Completed` finds the job already delivering/delivered and posts nothing.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bot.adapters.blobs import render_key
from bot.conversation.costs import spent
from bot.conversation.follow_ups import with_parts
from bot.conversation.home import Home
from bot.conversation.ports import BlobNotFound
from bot.conversation.references import withhold
from bot.conversation.sessions import TERMINAL, InvalidTransition, Job, advance
from bot.conversation.storyboarding import Storyboarding
from bot.conversation.updates import change_job
from bot.jobs.messages import JobProgress, JobStateChange, parse_job_event
from bot.runtime.logs import log_context
from bot.runtime.services import Services
from bot.slack import blocks
from bot.slack.chat import ChatError
from processing_job.models import resolve_model

log = logging.getLogger(__name__)

# A delivery claimed longer ago than this is presumed dead (the Lambda died mid-upload) and retried.
DELIVERY_LEASE_S = 300
# Slack answers that no retry will change: the video can't go into that conversation.
UNDELIVERABLE = frozenset({"not_in_channel", "channel_not_found", "is_archived", "restricted_action"})


def handle_job_event(event: Mapping[str, Any], services: Services) -> None:
    JobEventHandler(services).handle(event)


class JobEventHandler:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = services.store
        self.chat = services.chat

    def handle(self, event: Mapping[str, Any]) -> None:
        parsed = parse_job_event(event)
        if parsed is None:
            log.info("ignoring an event that isn't one of our jobs")
            return
        job = self.store.get_job(parsed.job_id)
        if job is None:
            log.warning("event for unknown job %s", parsed.job_id)
            return
        with log_context(job_id=job.job_id, session=job.session_key):
            self._dispatch(job, parsed)

    def _dispatch(self, job: Job, parsed: JobStateChange | JobProgress) -> None:
        log.info("job event: %s", parsed.phase if isinstance(parsed, JobProgress) else parsed.status)
        if job.storyboard:  # a storyboard's shot or cut: its line on the storyboard, not a video of its own
            explanation = ""
            if isinstance(parsed, JobStateChange) and parsed.status == "Failed":
                explanation = _explain_failure(parsed, job.job_id, model_name(job))
            Storyboarding(self.services).on_job_event(job, parsed, explanation)
            return
        if isinstance(parsed, JobProgress):
            self.on_progress(job, parsed)
        elif parsed.status == "InProgress":
            self._start(job)
        elif parsed.status == "Completed":
            self.on_completed(job)
        elif parsed.status == "Failed":
            self.on_failed(job, parsed)
        elif parsed.status == "Stopped":
            self.on_stopped(job)

    def _start(self, job: Job) -> Job:
        if job.status != "queued":
            return job
        try:
            return change_job(self.store, job, self._advance_if("queued", "rendering"))
        except InvalidTransition:
            return self.store.get_job(job.job_id) or job

    def _advance_if(self, current: str, status: str, **changes: Any):  # noqa: ANN202
        def change(job: Job) -> Job:
            if job.status != current:
                raise InvalidTransition(f"{job.job_id} is {job.status}, not {current}")
            return advance(job, status, now=self.services.clock(), **changes)

        return change

    def on_progress(self, job: Job, progress: JobProgress) -> None:
        job = self._start(job)
        if job.status != "rendering" or not job.progress_ts:
            return
        text, progress_blocks = blocks.progress_message(
            job, phase=progress.phase, step=progress.step, total=progress.total, elapsed_s=progress.elapsed_s
        )
        try:
            self.chat.update(job.channel, job.progress_ts, text=text, blocks=progress_blocks)
        except ChatError as error:
            log.warning("progress update for %s failed: %s", job.job_id, error)

    def on_completed(self, job: Job) -> None:
        claimed = self._claim_delivery(job)
        if claimed is None:
            return
        job = claimed
        try:
            result = self._read_result(job)
            if job.file_id and self.chat.file_shared_in(job.file_id, job.channel):
                # An earlier attempt shared the video and died before it could say so: done.
                file_id = job.file_id
            else:
                file_id, job = self._upload(job, result)
        except BlobNotFound:
            self._finish_failed(job, "The render finished, but its video is missing. Please try again.")
            return
        except ChatError as error:
            if error.error not in UNDELIVERABLE:
                self._release_delivery(job)
                raise
            ref = withhold(log, f"the video can't be posted in {job.channel}", error.error)
            self._finish_failed(
                job, f"Slack wouldn't let me post the video in this conversation (ref {ref})."
            )
            return
        except Exception:
            self._release_delivery(job)  # so a retry of this event (or the sweeper) delivers it
            raise
        job = change_job(
            self.store,
            job,
            self._advance_if("delivering", "delivered", file_id=file_id, result=result),
        )
        self._slot_freed()
        seconds = blocks.render_seconds(result) or (job.finished_at or 0) - (job.started_at or 0)
        self._show_result_controls(job, seconds)
        self._refresh_home(job)

    def _show_result_controls(self, job: Job, seconds: float) -> None:
        """Reroll / Refine / Final render / Extend / Smooth / Upscale go under the video with the GPU time
        and cost it took, in a message of their own; the progress
        message above it has nothing left to say and goes. If Slack won't take the new message, the
        progress message becomes it instead."""
        cost = spent(job, pricing=self.services.settings.pricing)
        text, done_blocks = blocks.done_message(job, seconds, cost)
        try:
            self.chat.post(job.channel, text=text, blocks=done_blocks, thread_ts=job.thread_ts)
        except ChatError as error:
            log.warning("could not post the result controls for %s: %s", job.job_id, error)
            self._update_progress(job, text, done_blocks)
            return
        if job.progress_ts:
            try:
                self.chat.delete(job.channel, job.progress_ts)
            except ChatError as error:  # left as it was: stale, but harmless
                log.warning("could not delete the progress message of %s: %s", job.job_id, error)

    def _upload(self, job: Job, result: dict[str, Any]) -> tuple[str, Job]:
        """Upload the video; returns its file id and the job as last written."""
        latest = job

        def remember(file_id: str) -> None:
            # Written before the file is shared: whoever delivers next can ask Slack whether it was.
            nonlocal latest
            latest = change_job(self.store, job, lambda current: replace(current, file_id=file_id))

        with self.services.blobs.open(render_key(job.job_id, "video.mp4")) as video:
            file_id = self.chat.upload_video(
                job.channel,
                job.thread_ts,
                data=video,
                filename="video.mp4",
                title=blocks.video_title(job),
                comment=blocks.video_caption(job, result),
                alt_text=blocks.video_alt_text(job),
                before_sharing=remember,
            )
        return file_id, latest

    def _claim_delivery(self, job: Job) -> Job | None:
        """Take the job into `delivering`, unless it's done or someone else is delivering it right now."""
        now = self.services.clock()

        def claim(current: Job) -> Job:
            if current.status == "queued":
                current = advance(current, "rendering", now=now)
            if current.status == "rendering":
                return advance(current, "delivering", now=now)
            if current.status == "delivering" and now - current.updated_at > DELIVERY_LEASE_S:
                return replace(current, updated_at=now)  # the last attempt died mid-delivery: take over
            raise InvalidTransition(f"{current.job_id} is {current.status}")

        try:
            return change_job(self.store, job, claim)
        except InvalidTransition as reason:
            log.info("not delivering again: %s", reason)
            return None

    def _release_delivery(self, job: Job) -> None:
        """Give up our claim now instead of at the end of the lease: the next attempt needn't wait."""
        expired = self.services.clock() - DELIVERY_LEASE_S - 1

        def release(current: Job) -> Job:
            if current.status != "delivering":
                raise InvalidTransition(f"{current.job_id} is {current.status}")
            return replace(current, updated_at=expired)

        try:
            change_job(self.store, job, release)
        except Exception:  # the lease still runs out on its own
            log.warning("could not release the delivery of %s", job.job_id, exc_info=True)

    def _read_result(self, job: Job) -> dict[str, Any]:
        """What the job said of its video (result.json), and for an extension the parts it joins."""
        try:
            with self.services.blobs.open(render_key(job.job_id, "result.json")) as stream:
                result = json.load(stream)
        except (BlobNotFound, ValueError):
            return {}
        if not isinstance(result, dict):
            return {}
        source = self.store.get_job(job.source_job_id) if job.source_job_id else None
        return with_parts(job, result, source)

    def on_failed(self, job: Job, change: JobStateChange) -> None:
        explanation = _explain_failure(change, job.job_id, model_name(job))
        self._finish_failed(job, explanation)

    def fail(self, job: Job, explanation: str) -> None:
        """End a render that no event will end (the sweeper's verdict), with `explanation` in its thread."""
        with log_context(job_id=job.job_id, session=job.session_key):
            if job.storyboard:
                self._dispatch(job, JobStateChange(job.job_id, "Failed", exit_message=explanation))
                return
            self._finish_failed(job, explanation)

    def show_queue_position(self, job: Job, position: int) -> None:
        """A waiting render's place in line changed (0: it has just been started)."""
        if not job.progress_ts:
            return
        if position:
            text, message_blocks = blocks.progress_message(job, phase="queued", queue_position=position)
        else:
            text, message_blocks = blocks.progress_message(job, phase="starting")
        try:
            self.chat.update(job.channel, job.progress_ts, text=text, blocks=message_blocks)
        except ChatError as error:
            log.warning("queue update for %s failed: %s", job.job_id, error)

    def _finish_failed(self, job: Job, explanation: str) -> None:
        def fail(current: Job) -> Job:
            if current.status in TERMINAL:
                raise InvalidTransition(f"{current.job_id} already {current.status}")
            return advance(current, "failed", now=self.services.clock(), failure=explanation)

        try:
            job = change_job(self.store, job, fail)
        except InvalidTransition:
            return
        self._slot_freed()
        text, failed_blocks = blocks.failed_message(job, explanation)
        self._post_or_update(job, text, failed_blocks)
        self._refresh_home(job)

    def on_stopped(self, job: Job) -> None:
        def cancel(current: Job) -> Job:
            if current.status in TERMINAL or current.status == "delivering":
                raise InvalidTransition(f"{current.job_id} is {current.status}")
            return advance(current, "cancelled", now=self.services.clock())

        try:
            job = change_job(self.store, job, cancel)
        except InvalidTransition:
            return
        self._slot_freed()
        self._post_or_update(job, *blocks.cancelled_message(job, None))
        self._refresh_home(job)

    def _refresh_home(self, job: Job) -> None:
        """The owner's App Home tab lists renders under way and recent videos: it follows, at one
        `views.publish`. Never in the way of delivery."""
        try:
            Home(self.services).refresh(job)
        except Exception:
            log.warning("could not refresh the Home tab of %s", job.owner, exc_info=True)

    def _slot_freed(self) -> None:
        """A render ended: the next one waiting in line (if any) starts. Never stops this delivery;
        the sweepers start waiting renders again later if this fails."""
        from bot.conversation.rendering import Rendering

        try:
            Rendering(self.services).start_waiting()
        except Exception:
            log.warning("could not start the renders waiting in line", exc_info=True)

    def _update_progress(self, job: Job, text: str, message_blocks: list[dict[str, Any]]) -> None:
        if not job.progress_ts:
            return
        try:
            self.chat.update(job.channel, job.progress_ts, text=text, blocks=message_blocks)
        except ChatError as error:
            log.warning("final update for %s failed: %s", job.job_id, error)

    def _post_or_update(self, job: Job, text: str, message_blocks: list[dict[str, Any]]) -> None:
        """An outcome must reach the thread: update the progress message, or post anew if that fails."""
        if job.progress_ts:
            try:
                self.chat.update(job.channel, job.progress_ts, text=text, blocks=message_blocks)
                return
            except ChatError as error:
                log.warning("could not update progress of %s (%s); posting instead", job.job_id, error)
        self.chat.post(job.channel, text=text, blocks=message_blocks, thread_ts=job.thread_ts)


# What a job's own sentence may not show people: paths, storage and resource names, the job's id,
# exception names and hub repositories. Such a sentence is replaced, and its details logged.
_INTERNAL = re.compile(
    r"(?:^|[\s(\"'])(?:~|\.{1,2})?/[\w.-]+"  # a filesystem path
    r"|\b[A-Za-z]:\\"  # a Windows path
    r"|\b(?:s3|file|https?)://|\barn:aws"  # storage, resources
    r"|\b\w+(?:Error|Exception)\b"  # an exception's name
    r"|\b[\w.-]+/[\w.-]+"  # a hub repository (owner/name)
    r"|\bvideobot-[\w-]+"  # a processing job's name
)
WEIGHTS_MISSING = (
    "The weights for {model} aren't available to the renderer. Please ask your admin to stage them."
)
RENDER_ERROR = "The renderer stopped with an error. Please try again; if it keeps happening, tell your admin"


def model_name(job: Job) -> str:
    try:
        return resolve_model(str(job.spec.get("model", ""))).name
    except ValueError:
        return "this model"


def _explain_failure(change: JobStateChange, job_id: str = "", model: str = "this model") -> str:
    """The job's own sentence when it wrote one people may see; otherwise SageMaker's reason in plain
    words. Whatever is held back goes to the log under a reference the person can quote."""
    message = change.exit_message.strip()
    if message:
        if not _INTERNAL.search(message) and not (job_id and job_id in message):
            return message
        ref = withhold(log, f"render {job_id} failed", message)
        if message.startswith("The model weights"):
            return f"{WEIGHTS_MISSING.format(model=model)} (ref {ref})"
        return f"{RENDER_ERROR} (ref {ref})."
    reason = change.failure_reason
    if "CapacityError" in reason or "InsufficientInstanceCapacity" in reason:
        return "There was no GPU capacity available. Please try again in a little while."
    if "No S3 objects found" in reason:
        return "The renderer's model weights aren't in place yet. Please ask your admin to stage them."
    if "MaxRuntimeInSeconds" in reason or "timed out" in reason.lower():
        return "The render took longer than its time limit and was stopped."
    ref = withhold(log, f"render {job_id} failed", reason or "no reason given")
    return f"{RENDER_ERROR} (ref {ref})."
