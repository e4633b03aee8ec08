"""The conversation's use cases: start a session, refine it, render a draft, cancel.

Each takes plain values (no Slack payloads) and works through the ports in `Services`; the rules
themselves live in `sessions`, the messages in `blocks`. Anything refused is explained to the person
as an ephemeral note in the thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

from bot import blocks
from bot.chat import ChatError
from bot.ports import Conflict, RefineRequest
from bot.services import Services
from bot.sessions import (
    TERMINAL,
    ConversationError,
    DraftOptions,
    Job,
    Session,
    add_user_turn,
    advance,
    check_controller,
    new_draft,
    plan_job,
    set_draft,
    start_session,
)
from bot.store import change_job, change_session
from processing_job.spec import SpecError

log = logging.getLogger(__name__)

STREAM_UPDATE_INTERVAL_S = 1.0


class Conversation:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = services.store
        self.chat = services.chat

    # starting and refining

    def start(self, *, channel: str, user: str, idea: str, options: DraftOptions) -> Session:
        """`/video <idea>`: the root message becomes the thread, then the first draft follows in it."""
        text, root_blocks = blocks.root_message(user, idea)
        thread_ts = self.chat.post(channel, text=text, blocks=root_blocks)
        session = start_session(
            channel=channel, thread_ts=thread_ts, owner=user, idea=idea, now=self.services.clock()
        )
        session = self.store.create_session(session)
        return self._offer_draft(session, options)

    def reply(self, *, channel: str, thread_ts: str, user: str, text: str) -> Session | None:
        """A reply in a session's thread is a refinement turn; replies elsewhere are not ours."""
        session = self.store.get_session(channel, thread_ts)
        if session is None:
            return None
        session = change_session(
            self.store, session, lambda s: add_user_turn(s, text, user, self.services.clock())
        )
        return self._offer_draft(session, DraftOptions())

    def _offer_draft(self, session: Session, options: DraftOptions) -> Session:
        prompt_ts = self.chat.post(session.channel, text="✍️ Writing the prompt…", thread_ts=session.thread_ts)
        request = RefineRequest(
            turns=session.turns,
            mode=session.mode,
            current_prompt=session.draft.prompt if session.draft else None,
        )
        refinement = self.services.refiner.refine(request, on_text=self._streamer(session.channel, prompt_ts))
        text, prompt_blocks = blocks.refined_prompt_message(
            refinement.prompt, refinement.refiner, refinement.note
        )
        self.chat.update(session.channel, prompt_ts, text=text, blocks=prompt_blocks)

        previous = session.draft
        if previous is None:
            draft = new_draft(
                options,
                prompt=refinement.prompt,
                default_model=self.services.settings.default_model,
                seed=self.services.new_seed(),
                refined_by=refinement.refiner,
            )
        else:
            draft = replace(previous, prompt=refinement.prompt, refined_by=refinement.refiner)
        try:
            session = change_session(
                self.store, session, lambda s: set_draft(s, draft, self.services.clock())
            )
        except SpecError as error:
            self.chat.post(
                session.channel,
                text=f"I can't render that: {error}",
                thread_ts=session.thread_ts,
            )
            return session
        card_text, card_blocks = blocks.draft_card(session)
        card_ts = self.chat.post(
            session.channel, text=card_text, blocks=card_blocks, thread_ts=session.thread_ts
        )
        old_card_ts = session.draft_card_ts
        session = change_session(self.store, session, lambda s: replace(s, draft_card_ts=card_ts))
        if previous is not None and old_card_ts:
            self._close_card(
                session.channel, old_card_ts, previous, f"Replaced by draft {previous.revision + 1}."
            )
        return session

    def _streamer(self, channel: str, ts: str) -> Callable[[str], None]:
        """Show the prompt as it is written, at most once a second (chat.update is rate limited)."""
        last = 0.0

        def show(text_so_far: str) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last < STREAM_UPDATE_INTERVAL_S:
                return
            last = now
            try:
                self.chat.update(channel, ts, text=f"✍️ {text_so_far}…")
            except ChatError:
                log.warning("could not stream the prompt into %s", ts)

        return show

    # rendering

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
        try:
            job = plan_job(
                session, user=user, admins=self.services.settings.admins, now=self.services.clock()
            )
        except (ConversationError, SpecError) as error:
            self._tell(channel, user, thread_ts, str(error))
            return None
        try:
            job = self.store.create_job(job)
        except Conflict:
            self._tell(channel, user, thread_ts, "This draft is already rendering (or has been rendered).")
            return None
        session = change_session(self.store, session, lambda s: replace(s, job_ids=(*s.job_ids, job.job_id)))
        if session.draft_card_ts:
            self._close_card(
                channel, session.draft_card_ts, session.draft, f"▶️ <@{user}> started the render."
            )
        job = self._post_progress(job)
        try:
            launch = self.services.launcher.launch(job, job.job_spec)
        except Exception as error:
            log.exception("launching %s failed", job.job_id)
            self._fail_unlaunched(job, error)
            return None
        if launch.state == "queued" and job.progress_ts:
            text, progress_blocks = blocks.progress_message(
                job, phase="queued", queue_position=launch.queue_position
            )
            self._quietly(
                lambda: self.chat.update(channel, job.progress_ts, text=text, blocks=progress_blocks)
            )
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
        change_job(
            self.store, job, lambda j: advance(j, "failed", now=self.services.clock(), failure=explanation)
        )
        text, failed_blocks = blocks.failed_message(job, explanation)
        self.chat.post(job.channel, text=text, blocks=failed_blocks, thread_ts=job.thread_ts)

    def cancel_job(self, *, job_id: str, user: str) -> None:
        job = self.store.get_job(job_id)
        if job is None:
            return
        session = self.store.get_session(job.channel, job.thread_ts)
        try:
            if session is not None:
                check_controller(session, user, self.services.settings.admins)
        except ConversationError as error:
            self._tell(job.channel, user, job.thread_ts, str(error))
            return
        if job.status in TERMINAL:
            self._tell(job.channel, user, job.thread_ts, "That render has already finished.")
            return
        self.services.launcher.stop(job_id)
        if job.progress_ts:
            self._quietly(lambda: self.chat.update(job.channel, job.progress_ts, text="🛑 Cancelling…"))

    def cancel_draft(self, *, channel: str, thread_ts: str, revision: int, user: str) -> None:
        session = self.store.get_session(channel, thread_ts)
        if session is None or session.draft is None or session.draft.revision != revision:
            return
        try:
            check_controller(session, user, self.services.settings.admins)
        except ConversationError as error:
            self._tell(channel, user, thread_ts, str(error))
            return
        if session.draft_card_ts:
            self._close_card(
                channel,
                session.draft_card_ts,
                session.draft,
                f"Cancelled by <@{user}>. Reply here to start over.",
            )

    # helpers

    def _close_card(self, channel: str, ts: str, draft: object, outcome: str) -> None:
        text, card_blocks = blocks.closed_draft_card(draft, outcome)  # type: ignore[arg-type]
        self._quietly(lambda: self.chat.update(channel, ts, text=text, blocks=card_blocks))

    def _tell(self, channel: str, user: str, thread_ts: str, text: str) -> None:
        self._quietly(lambda: self.chat.ephemeral(channel, user, text, thread_ts=thread_ts))

    @staticmethod
    def _quietly(call: Callable[[], object]) -> None:
        """For cosmetic updates: a failure is logged, never allowed to stop the flow."""
        try:
            call()
        except ChatError as error:
            log.warning("cosmetic Slack update failed: %s", error)
