"""The conversation's use cases: start a session (from words or a picture), refine it, change its
settings, render a draft (or reroll, finish or retry a render), cancel, and report status.

Each takes plain values (no Slack payloads) and works through the ports in `Services`; the rules live
in `sessions` and `quotas`, the messages in `blocks`. Anything refused is explained to the person as an
ephemeral note in the thread; every accepted request ends in a draft, a video or an explanation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bot import blocks
from bot.chat import ChatError
from bot.config import Settings
from bot.images import PictureRejected, SharedFile, SlackPictures, allowed_file_hosts
from bot.limits import Limits
from bot.ports import (
    BlobNotFound,
    Conflict,
    GuardUnavailable,
    QuotaExceeded,
    Refinement,
    RefineRequest,
)
from bot.prompt_stream import PromptStreams
from bot.quotas import (
    DAY_S,
    access_refusal,
    admission,
    limit_problems,
    refine_rate_refusal,
    refine_slots,
    render_refusal,
    usage,
    within_limits,
)
from bot.refiner import RefinementBlocked
from bot.services import Services
from bot.sessions import (
    TERMINAL,
    AlreadyDone,
    ConversationError,
    Draft,
    DraftOptions,
    Job,
    Session,
    add_user_turn,
    advance,
    as_final,
    check_controller,
    check_owner,
    draft_from_spec,
    fitted_to_picture,
    for_mode,
    forget_action,
    job_id_for,
    new_draft,
    plan_job,
    rerolled,
    set_draft,
    start_session,
    use_action,
    use_image,
    with_options,
)
from bot.settings_form import EditedDraft
from bot.status import status_message
from bot.store import change_job, change_session
from processing_job.models import UnknownModelError
from processing_job.spec import SpecError

log = logging.getLogger(__name__)

PICTURE_IDEA = "(a shared picture)"
GUARD_UNAVAILABLE = (
    "I couldn't check this against the workspace's content policy just now, so I haven't used it. "
    "Please try again in a minute."
)


class Conversation:
    def __init__(
        self,
        services: Services,
        *,
        pictures: SlackPictures | None = None,
        streams: PromptStreams | None = None,
    ) -> None:
        self.services = services
        self.store = services.store
        self.chat = services.chat
        self.pictures = pictures or SlackPictures(
            services.chat.client, self.limits, allowed_file_hosts(self.settings.slack_api_url)
        )
        self.streams = streams or PromptStreams(services.chat)

    # Read at each use: settings that change (a redeploy with a new allow-list) apply at once.
    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def limits(self) -> Limits:
        return self.services.settings.limits

    @property
    def admins(self) -> frozenset[str]:
        return self.settings.admins

    # starting and refining

    def start(
        self, *, channel: str, user: str, idea: str, options: DraftOptions, team: str = ""
    ) -> Session | None:
        """`/video <idea>`: the root message becomes the thread, then the first draft follows in it."""
        refusal = access_refusal(self.limits, user=user, channel=channel)
        if refusal:
            self._tell(channel, user, None, refusal)
            return None
        text, root_blocks = blocks.root_message(user, idea)
        thread_ts = self.chat.post(channel, text=text, blocks=root_blocks)
        session = start_session(
            channel=channel, thread_ts=thread_ts, owner=user, idea=idea, now=self._now(), team=team
        )
        session = self.store.create_session(session)
        return self._offer_draft(session, options, requester=user)

    def reply(
        self, *, channel: str, thread_ts: str, user: str, text: str, team: str = "", ts: str | None = None
    ) -> Session | None:
        """A reply in a session's thread is a refinement turn; replies elsewhere are not ours."""
        session = self.store.get_session(channel, thread_ts)
        if session is None:
            return None
        if ts is not None and any(turn.ts == ts for turn in session.turns):
            return None  # Slack delivered the same reply again; the first delivery answers it
        if user != session.owner and user not in self.admins:
            self._hint_once(session, user)  # other people's replies are their conversation
            return None
        refusal = access_refusal(self.limits, user=user, channel=channel)
        if refusal:
            self._tell(channel, user, thread_ts, refusal)
            return None
        if not self._may_refine_now(user):
            self._tell(channel, user, thread_ts, f"⏸️ {refine_rate_refusal(self.limits)}")
            return None
        try:
            session = change_session(
                self.store, session, lambda s: add_user_turn(s, text, user, self._now(), ts=ts)
            )
        except AlreadyDone:
            return None  # Slack delivered the same reply again; the first delivery answers it
        return self._offer_draft(session, DraftOptions(), requester=user, team=team)

    def _hint_once(self, session: Session, user: str) -> None:
        """Tell someone once per session that replies here refine someone else's video."""
        key = f"reply-hint:{session.key}:{user}"
        if self.store.claim_once(key, expires_at=session.expires_at, now=self._now()):
            self._tell(session.channel, user, session.thread_ts, blocks.not_your_video(session.owner))

    def _may_refine_now(self, user: str) -> bool:
        now = self._now()
        return any(
            self.store.claim_once(key, expires_at=expires_at, now=now)
            for key, expires_at in refine_slots(user, self.limits, now=now)
        )

    def share_picture(
        self,
        *,
        channel: str,
        user: str,
        message_ts: str,
        thread_ts: str | None,
        file: dict[str, Any],
        text: str = "",
        team: str = "",
    ) -> Session | None:
        """A picture shared in a conversation with the bot starts an image-to-video session in the
        picture's thread; shared into a session's thread, it becomes that session's picture."""
        try:
            shared = self.pictures.complete(SharedFile.from_event(file))
        except PictureRejected:
            return None
        if not shared.is_picture:
            return None  # other files (documents, videos) aren't requests
        in_thread = thread_ts is not None and thread_ts != message_ts
        session = self.store.get_session(channel, thread_ts) if in_thread and thread_ts else None
        if in_thread and session is None:
            return None  # a picture in somebody else's thread is their conversation
        where = thread_ts if in_thread and thread_ts else message_ts
        if session is None and not self.limits.allows_channel(channel):
            return None  # pictures in channels the bot doesn't serve are simply not for us
        refusal = access_refusal(self.limits, user=user, channel=channel)
        if refusal:
            self._tell(channel, user, where, refusal)
            return None
        if session is not None:
            try:
                check_controller(session, user, self.admins)
            except ConversationError as error:
                self._tell(channel, user, where, f"{error} Reply with words to suggest changes instead.")
                return None
        try:
            picture = self.pictures.fetch(shared)
        except PictureRejected as rejected:
            self._tell(channel, user, where, f"🖼️ {rejected}")
            return None
        problem = self._picture_refusal(picture.data, picture.media_type)
        if problem:
            self._tell(channel, user, where, f"🙅 {problem}")
            return None
        key = picture.blob_key(channel, where, shared.id or message_ts)
        self.services.blobs.put(key, picture.data, content_type=picture.media_type)

        def adopt(s: Session) -> Session:
            return use_image(
                s,
                image_key=key,
                media_type=picture.media_type,
                size=(picture.width, picture.height),
                text=text,
                user=user,
                now=self._now(),
                ts=message_ts,
            )

        if session is None:
            fresh = start_session(
                channel=channel,
                thread_ts=message_ts,
                owner=user,
                idea=text or PICTURE_IDEA,
                now=self._now(),
                team=team,
            )
            try:
                session = self.store.create_session(adopt(replace(fresh, turns=())))
            except Conflict:
                return None  # the same share delivered twice: the first delivery answers it
            self._quietly(
                lambda: self.chat.post(channel, text=blocks.picture_received(user), thread_ts=message_ts)
            )
        else:
            try:
                session = change_session(self.store, session, adopt)
            except AlreadyDone:
                return None
        return self._offer_draft(session, DraftOptions(), requester=user, team=team, image=picture.data)

    def _offer_draft(
        self,
        session: Session,
        options: DraftOptions,
        *,
        requester: str,
        team: str = "",
        image: bytes | None = None,
    ) -> Session:
        """Write the prompt into the thread as it comes, then make that message the new draft's card."""
        stream = self.streams.open(
            channel=session.channel,
            thread_ts=session.thread_ts,
            recipient=requester,
            team=team or session.team,
            placeholder=blocks.writing_message(session.mode),
        )
        request = RefineRequest(
            turns=session.turns,
            mode=session.mode,
            current_prompt=session.draft.prompt if session.draft else None,
            image=image if image is not None else self._picture_of(session),
            image_media_type=session.image_media_type,
        )
        try:
            refinement = self.services.refiner.refine(request, on_text=stream.show)
        except RefinementBlocked as blocked:
            stream.finish_notice(*blocks.blocked_message(str(blocked)))
            return session
        # The policy judges the prompt whoever wrote it (the offline refiner answers when Bedrock can't).
        problem = self._text_refusal([refinement.prompt])
        if problem:
            stream.finish_notice(*blocks.blocked_message(problem))
            return session
        before = session
        try:
            draft = self._next_draft(session, refinement, options)
            session = change_session(self.store, session, lambda s: set_draft(s, draft, self._now()))
        except (SpecError, UnknownModelError) as error:
            stream.finish_notice(*blocks.notice(blocks.cant_render_message([str(error)])))
            return session
        drafted = session
        self._retire_card(before, session)  # before the new card shows: one live card at a time
        card_ts = stream.finish(
            lambda with_prompt: blocks.draft_card(drafted, with_prompt=with_prompt, note=refinement.note)
        )
        return change_session(self.store, session, lambda s: replace(s, draft_card_ts=card_ts))

    def _adopt_card(self, before: Session, session: Session, card_ts: str) -> Session:
        """`card_ts` is the session's draft card now; the card it replaces loses its buttons."""
        session = change_session(self.store, session, lambda s: replace(s, draft_card_ts=card_ts))
        if before.draft_card_ts != card_ts:
            self._retire_card(before, session)
        return session

    def _retire_card(self, before: Session, session: Session) -> None:
        """The draft card of `before` loses its buttons: `session`'s draft replaced it."""
        old_ts, old_draft = before.draft_card_ts, before.draft
        if old_ts and old_draft and session.draft:
            self._close_card(
                session.channel, old_ts, old_draft, f"Replaced by draft {session.draft.revision}."
            )

    def _next_draft(self, session: Session, refinement: Refinement, options: DraftOptions) -> Draft:
        previous = session.draft
        if previous is None:
            draft = new_draft(
                options,
                prompt=refinement.prompt,
                default_model=self.settings.default_model,
                seed=self.services.new_seed(),
                refined_by=refinement.refiner,
                mode=session.mode,
            )
        else:
            draft = for_mode(
                replace(previous, prompt=refinement.prompt, refined_by=refinement.refiner), session.mode
            )
        if session.mode == "i2v":
            draft = fitted_to_picture(draft, session)
        return within_limits(draft, self.limits)

    def _picture_of(self, session: Session) -> bytes | None:
        if session.mode != "i2v" or not session.image_key:
            return None
        try:
            with self.services.blobs.open(session.image_key) as stream:
                return stream.read()
        except BlobNotFound:
            log.warning("the picture of %s is gone", session.key)
            return None

    # settings

    def settings_view(
        self, *, channel: str, thread_ts: str, revision: int, user: str
    ) -> dict[str, Any] | None:
        """The settings modal for a draft, or None (and a note) when this person can't change it."""
        session = self.store.get_session(channel, thread_ts)
        if session is None or session.draft is None:
            self._tell(
                channel, user, thread_ts, "This draft is no longer available. Start again with `/video`."
            )
            return None
        try:
            check_controller(session, user, self.admins)
        except ConversationError as error:
            self._tell(channel, user, thread_ts, str(error))
            return None
        return blocks.settings_view(session, self.limits)

    def apply_settings(self, edited: EditedDraft, *, user: str) -> Session | None:
        """The settings modal was saved: a new revision of the draft, written back to its card."""
        session = self.store.get_session(edited.channel, edited.thread_ts)
        if session is None or session.draft is None:
            return None
        try:
            check_controller(session, user, self.admins)
        except ConversationError as error:
            self._tell(session.channel, user, session.thread_ts, str(error))
            return None
        draft = with_options(session.draft, edited.options, mode=session.mode)
        if session.mode == "i2v":
            draft = fitted_to_picture(draft, session)
        try:
            session = change_session(self.store, session, lambda s: set_draft(s, draft, self._now()))
        except (SpecError, UnknownModelError) as error:
            self._tell(session.channel, user, session.thread_ts, blocks.cant_render_message([str(error)]))
            return None
        text, card = blocks.draft_card(session, note=f"Settings changed by <@{user}>.")
        if session.draft_card_ts:
            try:
                self.chat.update(session.channel, session.draft_card_ts, text=text, blocks=card)
                return session
            except ChatError:
                log.warning("could not update the card of %s; posting it anew", session.key)
        card_ts = self.chat.post(session.channel, text=text, blocks=card, thread_ts=session.thread_ts)
        return change_session(self.store, session, lambda s: replace(s, draft_card_ts=card_ts))

    def cancel_draft(self, *, channel: str, thread_ts: str, revision: int, user: str) -> None:
        session = self.store.get_session(channel, thread_ts)
        if session is None or session.draft is None or session.draft.revision != revision:
            return
        try:
            check_controller(session, user, self.admins)
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
        return self._render(session, user, close_card=True)

    def reroll(self, *, job_id: str, user: str) -> Job | None:
        """🎲 Reroll on a result: the same draft with a new seed, rendered straight away."""
        return self._render_from(job_id, user, "reroll", lambda d: rerolled(d, self.services.new_seed()))

    def final_render(self, *, job_id: str, user: str) -> Job | None:
        """🎬 Final render on a draft-quality result: the same prompt and seed at full quality."""
        return self._render_from(job_id, user, "final", as_final)

    def retry(self, *, job_id: str, user: str) -> Job | None:
        """🔁 Try again on a failed render: the same draft once more."""
        return self._render_from(job_id, user, "retry", lambda d: d)

    def refine_from(self, *, job_id: str, user: str) -> Session | None:
        """✏️ Refine on a result: back to drafting with that render's prompt and settings."""
        found = self._job_and_session(job_id, user)
        if found is None:
            return None
        job, session = found
        before = session
        draft = draft_from_spec(job.job_spec, refined_by=session.draft.refined_by if session.draft else "")
        try:
            session = change_session(self.store, session, lambda s: set_draft(s, draft, self._now()))
        except (SpecError, UnknownModelError) as error:
            self._tell(session.channel, user, session.thread_ts, blocks.cant_render_message([str(error)]))
            return None
        note = f"Back to the render with seed {draft.seed}, for <@{user}> to refine."
        text, card = blocks.draft_card(session, note=note)
        card_ts = self.chat.post(session.channel, text=text, blocks=card, thread_ts=session.thread_ts)
        return self._adopt_card(before, session, card_ts)

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
        )
        return f"⏸️ {refusal}" if refusal else None

    def _job_and_session(self, job_id: str, user: str) -> tuple[Job, Session] | None:
        job = self.store.get_job(job_id)
        session = self.store.get_session(job.channel, job.thread_ts) if job else None
        if job is None or session is None:
            return None
        try:
            check_controller(session, user, self.admins)
        except ConversationError as error:
            self._tell(job.channel, user, job.thread_ts, str(error))
            return None
        return job, session

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
        try:
            # Counted and written in one step: concurrent clicks can't all squeeze under the caps.
            job = self.store.reserve_job(job, admission(self.limits, session.owner, now=now))
        except Conflict:
            self._tell(channel, user, thread_ts, "This draft is already rendering (or has been rendered).")
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
            launch = self.services.launcher.launch(job, job.job_spec)
        except Exception as error:
            # The render never started: say so, and give the quota back (a job left waiting would hold
            # it until the sweeper ends it).
            log.exception("launching %s failed", job.job_id)
            self._fail_unlaunched(job, error)
            return None
        job = self._mark_launched(job)
        if launch.state == "queued" and job.progress_ts:
            text, progress_blocks = blocks.progress_message(
                job, phase="queued", queue_position=launch.queue_position
            )
            progress_ts = job.progress_ts
            self._quietly(lambda: self.chat.update(channel, progress_ts, text=text, blocks=progress_blocks))
        return job

    def _render_refusal(self, session: Session) -> str | None:
        """The one check every render passes (Generate, Reroll, Final render, Try again, ...): the
        allow-lists and the workspace's caps on the draft itself. Quotas are counted by the store."""
        refusal = access_refusal(self.limits, user=session.owner, channel=session.channel)
        if refusal:
            return f"⏸️ {refusal}"
        assert session.draft is not None  # plan_job checked
        problems = limit_problems(session.draft, self.limits)
        if problems:
            return blocks.cant_render_message(problems)
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

    def _text_refusal(self, texts: list[str]) -> str | None:
        """Why the content policy won't let these texts be used, or None."""
        try:
            verdict = self.services.guard.check_text(texts)
        except GuardUnavailable:
            return GUARD_UNAVAILABLE
        return None if verdict.allowed else verdict.message

    def _picture_refusal(self, data: bytes, media_type: str) -> str | None:
        try:
            verdict = self.services.guard.check_image(data, media_type)
        except GuardUnavailable:
            return GUARD_UNAVAILABLE
        return None if verdict.allowed else verdict.message

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
        # "Cancelling…" first: a launcher may report the render stopped before stop() returns.
        if job.progress_ts:
            progress_ts = job.progress_ts
            self._quietly(
                lambda: self.chat.update(job.channel, progress_ts, text=f"🛑 Cancelling… (<@{user}>)")
            )
        self.services.launcher.stop(job_id)

    # status

    def status(self, *, user: str) -> blocks.Message:
        """`/video status`: my renders of the last day, the queue, my quota."""
        now = self._now()
        mine = self.store.jobs_for_owner(user, since=now - DAY_S)
        active = self.store.active_jobs()
        return status_message(user, mine, active, usage(user, mine, active, now=now), self.limits)

    # helpers

    def _now(self) -> float:
        return self.services.clock()

    def _close_card(self, channel: str, ts: str, draft: Draft, outcome: str) -> None:
        text, card_blocks = blocks.closed_draft_card(draft, outcome)
        self._quietly(lambda: self.chat.update(channel, ts, text=text, blocks=card_blocks))

    def _tell(self, channel: str, user: str, thread_ts: str | None, text: str) -> None:
        self._quietly(lambda: self.chat.ephemeral(channel, user, text, thread_ts=thread_ts))

    @staticmethod
    def _quietly(call: Callable[[], object]) -> None:
        """For cosmetic updates: a failure is logged, never allowed to stop the flow."""
        try:
            call()
        except ChatError as error:
            log.warning("cosmetic Slack update failed: %s", error)
