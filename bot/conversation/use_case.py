"""What every use case shares: the services (read at each use, so settings that change apply at once),
the session and job a button names, the content policy's verdicts, and how people are told: an
ephemeral note in the thread, and cosmetic updates that never stop the flow."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.conversation.costs import RenderCost, estimate_draft
from bot.conversation.limits import Limits
from bot.conversation.ports import BlobNotFound, GuardUnavailable
from bot.conversation.sessions import ConversationError, Draft, Job, Session, check_controller
from bot.runtime.services import Services
from bot.runtime.settings import Settings
from bot.slack import blocks
from bot.slack.chat import ChatError

log = logging.getLogger(__name__)

CONVERSATION_GONE = (
    "I don't have this video's conversation any more (it was too long ago), so I can't change it. "
    "Start a new video with `/video`."
)

GUARD_UNAVAILABLE = (
    "I couldn't check this against the workspace's content policy just now, so I haven't used it. "
    "Please try again in a minute."
)


class UseCase:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = services.store
        self.chat = services.chat

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

    def _now(self) -> float:
        return self.services.clock()

    def _draft_cost(self, session: Session) -> RenderCost | None:
        """What rendering the session's draft will take, predicted for the card."""
        return estimate_draft(session, pricing=self.settings.pricing)

    def _close_card(
        self, channel: str, ts: str, draft: Draft, outcome: str, *, replaced: bool = False
    ) -> None:
        text, card_blocks = blocks.closed_draft_card(draft, outcome, replaced=replaced)
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

    def _picture_of(self, session: Session) -> bytes | None:
        if session.mode != "i2v" or not session.image_key:
            return None
        try:
            with self.services.blobs.open(session.image_key) as stream:
                return stream.read()
        except BlobNotFound:
            log.warning("the picture of %s is gone", session.key)
            return None

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

    def _job_and_session(self, job_id: str, user: str) -> tuple[Job, Session] | None:
        job = self.store.get_job(job_id)
        session = self.store.get_session(job.channel, job.thread_ts) if job else None
        if job is not None and session is None:  # kept for less long than its video's buttons
            self._tell(job.channel, user, job.thread_ts, CONVERSATION_GONE)
        if job is None or session is None:
            return None
        try:
            check_controller(session, user, self.admins)
        except ConversationError as error:
            self._tell(job.channel, user, job.thread_ts, str(error))
            return None
        return job, session
