"""Rendering: Generate on a draft card, 🎲 Reroll, 🎬 Final render, 🔁 Try again, ⏩ Extend, 〰️ Smooth and
🔍 Upscale on a result, and 🛑 Cancel on a render's progress.

Every render passes the same checks (the allow-lists, the workspace's caps through the one request
check, the content policy on its prompt and picture), is counted against the quotas atomically with
its write, then launched; what happens when it ends is bot.jobs.delivery's. Extend, Smooth and Upscale
make a job of a finished video (bot.conversation.follow_ups), through the same checks.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace

from bot.adapters.blobs import render_key
from bot.conversation.follow_ups import (
    FollowUpRefused,
    extension_spec,
    follow_up_id,
    plan_follow_up,
    stages_spec,
)
from bot.conversation.ports import Conflict, QuotaExceeded
from bot.conversation.quotas import (
    DAY_S,
    access_refusal,
    admission,
    free_slots,
    render_refusal,
    usage,
    waiting_line,
)
from bot.conversation.requests import limit_problems, sentences, upscale_problems, within_limits
from bot.conversation.sessions import (
    TERMINAL,
    ConversationError,
    Draft,
    InvalidTransition,
    Job,
    Session,
    advance,
    as_final,
    check_owner,
    draft_from_spec,
    forget_action,
    job_id_for,
    plan_job,
    rerolled,
    set_draft,
    use_action,
)
from bot.conversation.updates import change_job, change_session
from bot.conversation.use_case import UseCase
from bot.slack import blocks
from bot.slack.chat import ChatError
from processing_job.models import UnknownModelError
from processing_job.spec import JobSpec, SpecError

log = logging.getLogger(__name__)


class Rendering(UseCase):
    def generate(self, *, channel: str, thread_ts: str, revision: int, user: str) -> Job | None:
        """Generate pressed on a draft card: one job per draft revision, however often it is pressed."""
        session = self.store.get_session(channel, thread_ts)
        if session is None or session.draft is None:
            self._tell(
                channel, user, thread_ts, "This draft is no longer available. Start again with `/video`."
            )
            return None
        if session.draft.revision != revision:
            self._tell(
                channel,
                user,
                thread_ts,
                f"That draft was replaced by draft {session.draft.revision}; use the newest card's Generate.",
            )
            return None
        return self._render(session, user, close_card=True)

    def reroll(self, *, job_id: str, user: str) -> Job | None:
        """🎲 Reroll on a result: the same draft with a new seed, rendered straight away."""
        return self._render_from(job_id, user, "reroll", lambda d: rerolled(d, self.services.new_seed()))

    def final_render(self, *, job_id: str, user: str) -> Job | None:
        """🎬 Final render on a draft-quality result: the same prompt and seed at full quality."""
        return self._render_from(job_id, user, "final", as_final)

    def retry(self, *, job_id: str, user: str) -> Job | None:
        """🔁 Try again on a failed render: the same draft once more (an extension or post-processing
        of a video: the same once more, of the same video)."""
        failed = self.store.get_job(job_id)
        if failed is not None and failed.source_job_id:
            return self._follow_up(
                job_id,
                user,
                "retry",
                lambda job, _: job.job_spec.with_changes(job_id=follow_up_id(job.job_id, "t")),
                source_of=lambda job: job.source_job_id or job.job_id,
            )
        return self._render_from(job_id, user, "retry", lambda d: d)

    def _render_from(
        self, job_id: str, user: str, action: str, change: Callable[[Draft], Draft]
    ) -> Job | None:
        found = self._job_and_session(job_id, user)
        if found is None:
            return None
        job, session = found
        refusal = self._refusal(session)
        if refusal:  # before the button is used up, so it still works once the quota frees up
            self._tell(session.channel, user, session.thread_ts, refusal)
            return None
        refined_by = session.draft.refined_by if session.draft else ""
        # A final render's steps (the model's own) and an old render's settings are fitted to today's caps.
        draft = within_limits(change(draft_from_spec(job.job_spec, refined_by=refined_by)), self.limits)
        key = f"{action}:{job_id}"
        try:
            session = change_session(
                self.store,
                session,
                lambda s: set_draft(use_action(s, key, self._now()), draft, self._now()),
            )
        except ConversationError as error:
            self._tell(session.channel, user, session.thread_ts, str(error))
            return None
        except (SpecError, UnknownModelError) as error:
            self._tell(session.channel, user, session.thread_ts, blocks.cant_render_message([str(error)]))
            return None
        rendered = self._render(session, user, close_card=False)
        if (
            rendered is None
            and session.draft
            and not self.store.get_job(job_id_for(session, session.draft.revision))
        ):
            # Refused after all (a concurrent render took the last slot): the button works again.
            change_session(self.store, session, lambda s: forget_action(s, key))
        return rendered

    def extend(self, *, job_id: str, user: str) -> Job | None:
        """⏩ Extend on a result: the clip continued from its last frame (the session's prompt, refined
        if its owner replied since), joined to it and posted with its parts."""
        return self._follow_up(
            job_id,
            user,
            "extend",
            lambda source, session: extension_spec(source, session, job_id=follow_up_id(source.job_id, "x")),
        )

    def smooth(self, *, job_id: str, user: str, factor: int) -> Job | None:
        """〰️ Smooth on a result: the clip with `factor` times the frames, as a job of its own."""
        return self._follow_up(
            job_id,
            user,
            f"smooth{factor}",
            lambda source, _: stages_spec(
                source, job_id=follow_up_id(source.job_id, f"s{factor}"), interpolate=factor
            ),
        )

    def upscale(self, *, job_id: str, user: str, factor: int) -> Job | None:
        """🔍 Upscale on a result: the clip at `factor` times its size, as a job of its own."""
        return self._follow_up(
            job_id,
            user,
            f"upscale{factor}",
            lambda source, _: stages_spec(
                source, job_id=follow_up_id(source.job_id, f"u{factor}"), upscale=factor
            ),
        )

    def _follow_up(
        self,
        job_id: str,
        user: str,
        action: str,
        make_spec: Callable[[Job, Session], JobSpec],
        *,
        source_of: Callable[[Job], str] | None = None,
    ) -> Job | None:
        """A job made of a finished video (`make_spec` of the job clicked, whose own video it is unless
        `source_of` names another): the owner's, within the quotas and caps, once per click."""
        found = self._job_and_session(job_id, user)
        if found is None:
            return None
        clicked, session = found
        channel, thread_ts = session.channel, session.thread_ts
        refusal = self._refusal(session)
        if refusal:  # before the button is used up, so it still works once the quota frees up
            self._tell(channel, user, thread_ts, refusal)
            return None
        try:
            spec = make_spec(clicked, session)
        except FollowUpRefused as refused:
            self._tell(channel, user, thread_ts, f"⚠️ {refused}")
            return None
        except (SpecError, UnknownModelError) as error:
            self._tell(channel, user, thread_ts, blocks.cant_render_message([str(error)]))
            return None
        refusal = self._follow_up_refusal(spec)
        if refusal:
            self._tell(channel, user, thread_ts, refusal)
            return None
        source_id = source_of(clicked) if source_of else clicked.job_id
        video_key = render_key(source_id, "video.mp4")
        if not self.services.blobs.exists(video_key):  # kept for a while, not for ever
            self._tell(channel, user, thread_ts, blocks.VIDEO_GONE)
            return None
        key = f"{action}:{job_id}"
        try:
            session = change_session(self.store, session, lambda s: use_action(s, key, self._now()))
        except ConversationError as error:
            self._tell(channel, user, thread_ts, str(error))
            return None
        job = plan_follow_up(session, source_id, spec, video_key=video_key, now=self._now())
        launched = self._launch(session, job, user, already="That's already on its way.")
        if launched is None and not self.store.get_job(job.job_id):
            # Refused after all (a concurrent render took the last slot): the button works again.
            change_session(self.store, session, lambda s: forget_action(s, key))
        return launched

    def _follow_up_refusal(self, spec: JobSpec) -> str | None:
        """The checks a render's draft passes, on a follow-up that renders (an extension): the
        workspace's caps on its length and steps, and the content policy on its prompt."""
        if not spec.renders:
            return None  # post-processing: stages_spec held it to what Slack plays
        problems = limit_problems(draft_from_spec(spec, refined_by=""), self.limits)
        if problems:
            return blocks.cant_render_message(sentences(problems))
        problem = self._text_refusal([spec.prompt, spec.negative_prompt])
        return f"🙅 {problem}" if problem else None

    def _refusal(self, session: Session) -> str | None:
        """Why the session's owner can't start a render now (allow-lists, then quotas), or None."""
        now = self._now()
        refusal = access_refusal(self.limits, user=session.owner, channel=session.channel) or render_refusal(
            self.limits,
            usage(
                session.owner,
                self.store.jobs_for_owner(session.owner, since=now - DAY_S),
                self.store.active_jobs(),
                now=now,
            ),
            queue_when_full=True,
        )
        return f"⏸️ {refusal}" if refusal else None

    def _render(self, session: Session, user: str, *, close_card: bool) -> Job | None:
        """Checks, then the job: planned from the current draft, counted, launched, shown."""
        channel, thread_ts = session.channel, session.thread_ts
        now = self._now()
        try:
            job = plan_job(session, user=user, admins=self.admins, now=now)
        except (ConversationError, SpecError) as error:
            self._tell(channel, user, thread_ts, str(error))
            return None
        refusal = self._render_refusal(session) or self._content_refusal(session)
        if refusal:
            self._tell(channel, user, thread_ts, refusal)
            return None
        return self._launch(session, job, user, close_card=close_card)

    def _launch(
        self,
        session: Session,
        job: Job,
        user: str,
        *,
        close_card: bool = False,
        already: str = "This draft is already rendering (or has been rendered).",
    ) -> Job | None:
        """A checked job: counted, written, shown with its progress message, launched. `already` is
        what a second click on the same thing is told."""
        channel, thread_ts = session.channel, session.thread_ts
        now = self._now()
        try:
            # Counted and written in one step: concurrent clicks can't all squeeze under the caps. Every
            # render joins the line first; `start_waiting` launches it when a slot is free (now, mostly).
            job = self.store.reserve_job(
                replace(job, waiting_for_slot=True),
                admission(self.limits, session.owner, now=now, queue_when_full=True),
            )
        except Conflict:
            self._tell(channel, user, thread_ts, already)
            # A second click, or this work again after it died on the way (AWS invokes it again): if the
            # render is still in line, this is the moment to start it rather than the next sweep.
            try:
                self.start_waiting()
            except Exception:
                log.exception("starting the renders waiting in line failed; the sweeper will")
            return None
        except QuotaExceeded as refused:
            self._tell(channel, user, thread_ts, f"⏸️ {refused}")
            return None
        try:
            session = change_session(
                self.store, session, lambda s: replace(s, job_ids=(*s.job_ids, job.job_id))
            )
            if close_card and session.draft_card_ts and session.draft:
                self._close_card(
                    channel, session.draft_card_ts, session.draft, f"▶️ <@{user}> started the render."
                )
            job = self._post_progress(job)
        except Exception as error:
            log.exception("accepting %s failed", job.job_id)
            self._fail_unlaunched(job, error)
            return None
        # In line from now on: the sweepers know it waits (and for how long), not that it was lost.
        job = self._mark_launched(job)
        try:
            self.start_waiting(asked_now=job.job_id)
        except Exception as error:
            # The line couldn't be read or the slot taken (the store failing): this render never reached
            # the renderer, so it ends now with an explanation and its quota back, rather than waiting
            # for a sweeper after a "sorry".
            log.exception("starting %s from the line failed", job.job_id)
            latest = self.store.get_job(job.job_id) or job
            if latest.status == "queued":
                self._fail_unlaunched(latest, error)
            return None
        latest = self.store.get_job(job.job_id) or job
        return None if latest.status == "failed" and latest.started_at is None else latest

    def start_waiting(self, *, asked_now: str | None = None) -> list[str]:
        """Launch the renders waiting in line while the workspace has free slots, first come first
        served, and tell the others their place; returns the ids of those started. Called after every
        new render and whenever one ends (bot.jobs.delivery), and by the sweepers after a restart.

        A render that can't be launched is ended with an explanation if it is the one just asked for
        (`asked_now`); any other goes back in line for the next try (where the renderer refuses this
        process, e.g. an AWS function not allowed to start renders, nothing waiting is lost)."""
        active = self.store.active_jobs()
        free = free_slots(self.limits, active)
        started: list[str] = []
        done_with: set[str] = set()  # started, or ended with an explanation: no longer in line
        line = waiting_line(active)
        for job in line:
            if free <= 0:
                break
            try:
                job = change_job(self.store, job, self._take_slot)
            except InvalidTransition:
                done_with.add(job.job_id)
                continue  # started (or cancelled) by someone else meanwhile
            give_up = job.job_id == asked_now
            if self._hand_to_launcher(job, give_up=give_up):
                free -= 1
                started.append(job.job_id)
            if job.job_id in started or give_up:
                done_with.add(job.job_id)
        still = [job for job in line if job.job_id not in done_with]
        for position, job in enumerate(still, 1):
            self._show_place(job, position)
        return started

    def _take_slot(self, job: Job) -> Job:
        if job.status != "queued" or not job.waiting_for_slot:
            raise InvalidTransition(f"{job.job_id} no longer waits for a slot")
        # Out of the line and not yet the launcher's: until the launch is marked, a sweeper that finds
        # this job unknown to the renderer knows it never got there (and ends it with an explanation).
        return replace(job, waiting_for_slot=False, launched_at=None, updated_at=self._now())

    def _hand_to_launcher(self, job: Job, *, give_up: bool) -> bool:
        """Hand a render that holds a slot to the launcher; False if it couldn't start. Then it is
        ended, and said so (`give_up`), or put back in line for the next try."""
        try:
            launch = self.services.launcher.launch(job, job.job_spec)
        except Exception as error:
            if not give_up:
                log.warning("could not start %s from the line; it waits for the next try", job.job_id)
                self._back_in_line(job)
                return False
            # The render never started: say so, and give the quota back (a job left waiting would hold
            # it until the sweeper ends it).
            log.exception("launching %s failed", job.job_id)
            self._fail_unlaunched(job, error)
            return False
        self._mark_launched(job)
        if launch.state == "queued":
            self._show_place(job, launch.queue_position)
        return True

    def _back_in_line(self, job: Job) -> None:
        def wait_again(current: Job) -> Job:
            if current.status != "queued":
                raise InvalidTransition(f"{current.job_id} is {current.status}")
            return replace(current, waiting_for_slot=True)

        with contextlib.suppress(InvalidTransition):  # started, or cancelled, meanwhile
            change_job(self.store, job, wait_again)

    def _show_place(self, job: Job, position: int) -> None:
        if not job.progress_ts or not position:
            return
        text, progress_blocks = blocks.progress_message(job, phase="queued", queue_position=position)
        progress_ts = job.progress_ts
        self._quietly(lambda: self.chat.update(job.channel, progress_ts, text=text, blocks=progress_blocks))

    def _render_refusal(self, session: Session) -> str | None:
        """The one check every render passes (Generate, Reroll, Final render, Try again, ...): the
        allow-lists and the workspace's caps on the draft itself. Quotas are counted by the store."""
        refusal = access_refusal(self.limits, user=session.owner, channel=session.channel)
        if refusal:
            return f"⏸️ {refusal}"
        assert session.draft is not None  # plan_job checked
        problems = limit_problems(session.draft, self.limits) + upscale_problems(
            *session.draft.size, session.draft.upscale
        )
        if problems:
            return blocks.cant_render_message(sentences(problems))
        return None

    def _content_refusal(self, session: Session) -> str | None:
        """The content policy on everything the render will use: nothing renders that it hasn't passed."""
        assert session.draft is not None
        problem = self._text_refusal([session.draft.prompt, session.draft.negative_prompt])
        if problem is None and session.mode == "i2v" and session.image_key:
            picture = self._picture_of(session)
            if picture is None:
                return "The picture of this video is gone. Please share it again."
            problem = self._picture_refusal(picture, session.image_media_type or "image/png")
        return f"🙅 {problem}" if problem else None

    def _mark_launched(self, job: Job) -> Job:
        """The launcher has it: from now on the renderer (or its queue) answers for it. Without this
        mark, a job the renderer doesn't know is one that never got there (the sweeper ends it)."""
        try:
            return change_job(self.store, job, lambda j: replace(j, launched_at=self._now()))
        except Exception:
            log.warning("could not mark %s launched; the sweeper will ask the renderer", job.job_id)
            return job

    def _post_progress(self, job: Job) -> Job:
        text, progress_blocks = blocks.progress_message(job, phase="queued")
        try:
            ts = self.chat.post(job.channel, text=text, blocks=progress_blocks, thread_ts=job.thread_ts)
        except ChatError:
            log.warning("no progress message for %s; the video will still be posted", job.job_id)
            return job
        return change_job(self.store, job, lambda j: replace(j, progress_ts=ts))

    def _fail_unlaunched(self, job: Job, error: Exception) -> None:
        explanation = "I couldn't start the renderer. Please try again in a few minutes."
        job = change_job(
            self.store, job, lambda j: advance(j, "failed", now=self._now(), failure=explanation)
        )
        text, failed_blocks = blocks.failed_message(job, explanation)
        if job.progress_ts:
            try:
                self.chat.update(job.channel, job.progress_ts, text=text, blocks=failed_blocks)
                return
            except ChatError:
                log.warning("could not update the progress of %s", job.job_id)
        self.chat.post(job.channel, text=text, blocks=failed_blocks, thread_ts=job.thread_ts)

    def cancel_job(self, *, job_id: str, user: str) -> None:
        job = self.store.get_job(job_id)
        if job is None:
            return
        try:
            # The render's own owner: its session may be gone (expired, or never written).
            check_owner(job.owner, user, self.admins)
        except ConversationError as error:
            self._tell(job.channel, user, job.thread_ts, str(error))
            return
        if job.status in TERMINAL:
            self._tell(job.channel, user, job.thread_ts, "That render has already finished.")
            return
        if job.waiting_for_slot and self._cancel_waiting(job, user):
            return
        # "Cancelling…" first: a launcher may report the render stopped before stop() returns.
        if job.progress_ts:
            progress_ts = job.progress_ts
            self._quietly(
                lambda: self.chat.update(job.channel, progress_ts, text=f"🛑 Cancelling… (<@{user}>)")
            )
        self.services.launcher.stop(job_id)

    def _cancel_waiting(self, job: Job, user: str) -> bool:
        """Cancel a render still waiting in line (no launcher has it); False if it has just started."""

        def cancel(current: Job) -> Job:
            if current.status != "queued" or not current.waiting_for_slot:
                raise InvalidTransition(f"{current.job_id} no longer waits")
            return advance(current, "cancelled", now=self._now())

        try:
            job = change_job(self.store, job, cancel)
        except InvalidTransition:
            return False
        text, cancelled_blocks = blocks.cancelled_message(job, user)
        if job.progress_ts:
            progress_ts = job.progress_ts
            self._quietly(
                lambda: self.chat.update(job.channel, progress_ts, text=text, blocks=cancelled_blocks)
            )
        self.start_waiting()  # the others move up
        return True
