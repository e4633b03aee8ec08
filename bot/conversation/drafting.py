"""Drafting: start a session (from words or a picture), refine it turn by turn, change its settings,
cancel a draft, or go back to drafting from a render (✏️ Refine).

Each draft is written into the thread as the refiner writes it, then its message becomes the draft's
card (Generate, Settings, Cancel); one live card at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bot.conversation.defaults import defaults_for, with_defaults
from bot.conversation.ports import Conflict, Refinement, RefinementBlocked, RefineRequest, words_for_tokens
from bot.conversation.quotas import DAY_S, access_refusal, refine_rate_refusal, refine_slots
from bot.conversation.requests import within_limits
from bot.conversation.sessions import (
    AlreadyDone,
    ConversationError,
    Draft,
    DraftOptions,
    Session,
    add_user_turn,
    check_controller,
    draft_from_spec,
    fitted_to_picture,
    for_mode,
    model_for_mode,
    new_draft,
    set_draft,
    start_session,
    use_image,
    use_video,
    with_options,
)
from bot.conversation.updates import change_session
from bot.conversation.use_case import UseCase
from bot.runtime.services import Services
from bot.slack import blocks
from bot.slack.chat import ChatError
from bot.slack.files import PictureRejected, SharedFile, SlackPictures, Video, allowed_file_hosts
from bot.slack.forms import EditedDraft
from bot.slack.relevance import ALL, ChannelPictures
from bot.slack.streaming import PromptStreams
from processing_job.models import ModelInfo, UnknownModelError
from processing_job.spec import SpecError

log = logging.getLogger(__name__)

PICTURE_IDEA = "(a shared picture)"
VIDEO_IDEA = "(a shared video)"


EXACT_NOTE = "Used exactly as you typed it (no rewriting)."


def exactly_as_typed(prompt: str) -> Refinement:
    """A prompt the person wrote themselves (`--exact`, Settings), standing in for the refiner's."""
    return Refinement(prompt=prompt.strip(), refiner="you", note=EXACT_NOTE)


class Drafting(UseCase):
    def __init__(
        self,
        services: Services,
        *,
        pictures: SlackPictures | None = None,
        streams: PromptStreams | None = None,
    ) -> None:
        super().__init__(services)
        self.pictures = pictures or SlackPictures(
            services.chat.client, self.limits, allowed_file_hosts(self.settings.slack_api_url)
        )
        self.streams = streams or PromptStreams(services.chat)
        self.channel_pictures = ChannelPictures(
            self.store.channel_pictures, default=self.settings.channel_pictures, clock=services.clock
        )

    def choose_channel_pictures(self, *, channel: str, user: str, mode: str) -> str:
        """`/video channel pictures all|mention`: whether every picture (and video) shared in this
        channel starts a session, or only those shared with the bot mentioned (or given a 🎬). Only an
        admin of the bot may choose: Slack doesn't tell an app who a channel's managers are with the
        scopes it has (that takes admin.* scopes, on Enterprise Grid only). Returns the answer."""
        if channel.startswith("D"):
            return "In a direct message with me, every picture and video you share is already for me."
        if user not in self.admins:
            return (
                "Only an admin of videobot can choose which pictures in a channel are for me "
                "(Slack doesn't tell apps who a channel's managers are). Ask one of them."
            )
        self.store.set_channel_pictures(channel, mode)
        self.channel_pictures.remember(channel, mode)
        if mode == ALL:
            return (
                "🎬 From now on, every picture or video shared in <#" + channel + "> starts a video session. "
                "`/video channel pictures mention` goes back to only those shared with me mentioned."
            )
        return (
            "🎬 From now on, pictures and videos in <#" + channel + "> are for me only when I'm mentioned "
            "in the message, or when someone reacts to one with :clapper:."
        )

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
        picture's thread; shared into a session's thread, it becomes that session's picture. A video
        does the same for a restyle (video-to-video)."""
        try:
            shared = self.pictures.complete(SharedFile.from_event(file))
        except PictureRejected:
            return None
        if shared.is_video:
            return self._share_video(
                shared,
                channel=channel,
                user=user,
                message_ts=message_ts,
                thread_ts=thread_ts,
                text=text,
                team=team,
            )
        if not shared.is_picture:
            return None  # other files (documents) aren't requests
        where, session = self._where_shared(channel, user, message_ts, thread_ts)
        if where is None:
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

        return self._adopt_media(
            session,
            adopt,
            channel=channel,
            user=user,
            message_ts=message_ts,
            idea=text or PICTURE_IDEA,
            received=blocks.picture_received(user),
            team=team,
            image=picture.data,
        )

    def share_from_reaction(
        self,
        *,
        channel: str,
        user: str,
        author: str,
        message_ts: str,
        thread_ts: str | None,
        file: dict[str, Any],
        text: str = "",
        team: str = "",
    ) -> Session | None:
        """🎬 on a message with a picture or video: a session for whoever reacted. On their own message,
        or in a thread, it answers in that thread; on someone else's, in a thread of the bot's own, since
        replies under another person's message are that person's conversation and never reach the bot
        (bot.slack.relevance drops them unheard). A reply in a thread that is no session (somebody's
        conversation) is answered in a thread of the bot's own too, never left unanswered."""
        reply = bool(thread_ts and thread_ts != message_ts)
        in_a_session = reply and self.store.get_session(channel, str(thread_ts)) is not None
        if in_a_session or (user == author and not reply):
            return self.share_picture(
                channel=channel,
                user=user,
                message_ts=message_ts,
                thread_ts=thread_ts,
                file=file,
                text=text,
                team=team,
            )
        if not self.limits.allows_channel(channel):
            return None  # a channel the bot doesn't serve: its pictures are simply not for us
        refusal = access_refusal(self.limits, user=user, channel=channel)
        if refusal:  # asked, so answered (as a picture shared with the bot would be)
            self._tell(channel, user, thread_ts, refusal)
            return None
        now = self._now()
        if not self.store.claim_once(f"clapper:{channel}:{message_ts}", expires_at=now + DAY_S, now=now):
            return None  # someone's 🎬 on this message got there first: one session per message
        video = str(file.get("mimetype", "")).startswith("video/")
        root_text, root_blocks = blocks.reacted_root_message(user, author, video=video)
        root_ts = self.chat.post(channel, text=root_text, blocks=root_blocks)
        return self.share_picture(
            channel=channel, user=user, message_ts=root_ts, thread_ts=None, file=file, text=text, team=team
        )

    def _share_video(
        self,
        shared: SharedFile,
        *,
        channel: str,
        user: str,
        message_ts: str,
        thread_ts: str | None,
        text: str,
        team: str,
    ) -> Session | None:
        """A video shared with the bot: a restyle session in its thread (or the session's clip, shared
        into a session's thread), as a picture starts an image-to-video one."""
        where, session = self._where_shared(channel, user, message_ts, thread_ts)
        if where is None:
            return None
        try:
            video = self.pictures.fetch_video(shared)
        except PictureRejected as rejected:
            self._tell(channel, user, where, f"🎞️ {rejected}")
            return None
        key = video.blob_key(channel, where, shared.id or message_ts)
        self.services.blobs.put(key, video.data, content_type=video.media_type)
        return self._adopt_media(
            session,
            lambda s: self._with_video(s, key, video, text=text, user=user, ts=message_ts),
            channel=channel,
            user=user,
            message_ts=message_ts,
            idea=text or VIDEO_IDEA,
            received=blocks.video_received(user),
            team=team,
        )

    def _with_video(
        self, session: Session, key: str, video: Video, *, text: str, user: str, ts: str
    ) -> Session:
        return use_video(
            session,
            video_key=key,
            size=(video.width, video.height),
            seconds=video.seconds,
            text=text,
            user=user,
            now=self._now(),
            ts=ts,
        )

    def _where_shared(
        self, channel: str, user: str, message_ts: str, thread_ts: str | None
    ) -> tuple[str | None, Session | None]:
        """The thread a shared file answers in and its session (None: a new one), or (None, None) when
        the file isn't for the bot or this person may not use it there (told why when it matters)."""
        in_thread = thread_ts is not None and thread_ts != message_ts
        session = self.store.get_session(channel, thread_ts) if in_thread and thread_ts else None
        if in_thread and session is None:
            return None, None  # a file in somebody else's thread is their conversation
        where = thread_ts if in_thread and thread_ts else message_ts
        if session is None and not self.limits.allows_channel(channel):
            return None, None  # files in channels the bot doesn't serve are simply not for us
        refusal = access_refusal(self.limits, user=user, channel=channel)
        if refusal:
            self._tell(channel, user, where, refusal)
            return None, None
        if session is not None:
            try:
                check_controller(session, user, self.admins)
            except ConversationError as error:
                self._tell(channel, user, where, f"{error} Reply with words to suggest changes instead.")
                return None, None
        return where, session

    def _adopt_media(
        self,
        session: Session | None,
        adopt: Callable[[Session], Session],
        *,
        channel: str,
        user: str,
        message_ts: str,
        idea: str,
        received: str,
        team: str,
        image: bytes | None = None,
    ) -> Session | None:
        """A new session in the shared file's thread, or the session changed to use it; then a draft."""
        if session is None:
            fresh = start_session(
                channel=channel, thread_ts=message_ts, owner=user, idea=idea, now=self._now(), team=team
            )
            try:
                session = self.store.create_session(adopt(replace(fresh, turns=())))
            except Conflict:
                return None  # the same share delivered twice: the first delivery answers it
            self._quietly(lambda: self.chat.post(channel, text=received, thread_ts=message_ts))
        else:
            try:
                session = change_session(self.store, session, adopt)
            except AlreadyDone:
                return None
        return self._offer_draft(session, DraftOptions(), requester=user, team=team, image=image)

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
        if session.draft is None:  # a new session starts from its owner's defaults (the App Home tab)
            options = with_defaults(options, defaults_for(self.store, session.owner), mode=session.mode)
        stream = self.streams.open(
            channel=session.channel,
            thread_ts=session.thread_ts,
            recipient=requester,
            team=team or session.team,
            placeholder=blocks.writing_message(session.mode),
        )
        writes_for = self._model_to_write_for(session, options)
        request = RefineRequest(
            turns=session.turns,
            mode=session.mode,
            current_prompt=session.draft.prompt if session.draft else None,
            image=image if image is not None else self._picture_of(session),
            image_media_type=session.image_media_type,
            max_words=words_for_tokens(writes_for.max_prompt_tokens),
            model_name=writes_for.name,
            prompt_style=writes_for.prompt_style,
        )
        try:
            if options.exact_prompt:  # `--exact`: the person's own words, as typed
                refinement = exactly_as_typed(options.exact_prompt)
                stream.show(refinement.prompt)
            else:
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
            lambda with_prompt: blocks.draft_card(
                drafted, with_prompt=with_prompt, note=refinement.note, cost=self._draft_cost(drafted)
            )
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
                session.channel,
                old_ts,
                old_draft,
                f"Replaced by draft {session.draft.revision}.",
                replaced=True,
            )

    def _model_to_write_for(self, session: Session, options: DraftOptions) -> ModelInfo:
        """The model the next draft will render with: its prompt style and token limit (the registry's)
        shape the prompt. A model that can't be resolved is the default's, and the draft says why."""
        chosen = options.model or (session.draft.model if session.draft else self.settings.default_model)
        try:
            return model_for_mode(chosen, session.mode)
        except UnknownModelError:
            return model_for_mode(self.settings.default_model, session.mode)

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
        return within_limits(fitted_to_picture(draft, session), self.limits)

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
        draft = fitted_to_picture(draft, session)
        if edited.prompt and edited.prompt != session.draft.prompt:
            # A prompt typed in Settings is rendered as written; the content policy still judges it.
            problem = self._text_refusal([edited.prompt])
            if problem:
                self._tell(session.channel, user, session.thread_ts, f"🙅 {problem}")
                return None
            draft = replace(draft, prompt=edited.prompt, refined_by="you")
        try:
            session = change_session(self.store, session, lambda s: set_draft(s, draft, self._now()))
        except (SpecError, UnknownModelError) as error:
            self._tell(session.channel, user, session.thread_ts, blocks.cant_render_message([str(error)]))
            return None
        text, card = blocks.draft_card(
            session, note=f"Settings changed by <@{user}>.", cost=self._draft_cost(session)
        )
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
        text, card = blocks.draft_card(session, note=note, cost=self._draft_cost(session))
        card_ts = self.chat.post(session.channel, text=text, blocks=card, thread_ts=session.thread_ts)
        return self._adopt_card(before, session, card_ts)
