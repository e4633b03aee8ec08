"""Storyboarding: `/video story <idea>` writes a shot list into one card (edit, remove, move, the
continuity switch), Generate renders the shots and joins them into one cut, and a shot that failed is
rendered again alone.

Every shot is a render like any other: the same allow-lists, caps and content policy, counted against
the quotas atomically as it is written (`reserve_job`), launched through the launcher (so the capacity
queue applies). Shots the caps don't let start yet wait on the storyboard and start as earlier shots
finish. Their job events come here from bot.jobs.delivery (a job with `storyboard` set): one progress
message keeps a line per shot, and when every shot is done the join (a render job of mode `join`, with
crossfades) makes the cut, which is posted with the shot list under it. A failed shot never loses the
others: its line says why and offers to render it again; once it is done the cut is joined anew.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bot.adapters.blobs import render_key
from bot.conversation.costs import RenderCost, spent
from bot.conversation.follow_ups import offers
from bot.conversation.home import Home
from bot.conversation.ports import (
    BlobNotFound,
    Conflict,
    QuotaExceeded,
    RefinementBlocked,
    ShotListRequest,
    words_for_tokens,
)
from bot.conversation.quotas import DAY_S, access_refusal, admission, usage
from bot.conversation.requests import limit_problems, sentences, within_limits
from bot.conversation.sessions import (
    TERMINAL,
    ConversationError,
    DraftOptions,
    InvalidTransition,
    Job,
    advance,
    check_owner,
    new_draft,
)
from bot.conversation.storyboards import (
    DONE,
    FAILED,
    QUEUED,
    RENDERING,
    WAITING,
    Storyboard,
    StoryboardChanged,
    cancelled,
    cut_job_id,
    cut_session,
    cut_spec,
    edit_shot,
    expected_cost,
    in_flight,
    move_shot,
    next_to_launch,
    remove_shot,
    set_continuity,
    shot_job,
    shot_job_id,
    shot_spec,
    start_storyboard,
    with_cut,
    with_shot,
)
from bot.conversation.updates import change_job, change_session, change_storyboard
from bot.conversation.use_case import UseCase
from bot.jobs.messages import JobProgress, JobStateChange
from bot.slack import blocks, story_blocks
from bot.slack.chat import ChatError
from processing_job.models import UnknownModelError, resolve_model
from processing_job.spec import SpecError

log = logging.getLogger(__name__)

CANT_START = "I couldn't start the renderer. Please try again in a few minutes."
CANCELLED = "it was cancelled."
GONE = "This storyboard is no longer available. Start again with `/video story`."


class Storyboarding(UseCase):
    # the card

    def start(
        self, *, channel: str, user: str, idea: str, shots: int, options: DraftOptions, team: str = ""
    ) -> Storyboard | None:
        """`/video story <idea>`: a root message, then the shot list in its thread as one card."""
        refusal = access_refusal(self.limits, user=user, channel=channel)
        if refusal:
            self._tell(channel, user, None, refusal)
            return None
        text, root_blocks = story_blocks.story_root_message(user, idea, shots)
        thread_ts = self.chat.post(channel, text=text, blocks=root_blocks)
        writing_ts = self.chat.post(channel, text=story_blocks.writing_storyboard(shots), thread_ts=thread_ts)
        settings = within_limits(
            new_draft(
                options,
                prompt=idea,
                default_model=self.settings.default_model,
                seed=self.services.new_seed(),
                refined_by="",
            ),
            self.limits,
        )
        info = resolve_model(settings.model)
        request = ShotListRequest(
            idea=idea,
            shots=shots,
            max_words=words_for_tokens(info.max_prompt_tokens),
            model_name=info.name,
            prompt_style=info.prompt_style,
        )
        try:
            answer = self.services.refiner.shot_list(request)
        except RefinementBlocked as blocked:
            self.chat.update(channel, writing_ts, *blocks.blocked_message(str(blocked)))
            return None
        problem = self._text_refusal([shot.prompt for shot in answer.shots])
        if problem:
            self.chat.update(channel, writing_ts, *blocks.blocked_message(problem))
            return None
        board = start_storyboard(
            channel=channel,
            thread_ts=thread_ts,
            owner=user,
            idea=idea,
            settings=replace(settings, refined_by=answer.refiner),
            shots=answer.shots,
            refined_by=answer.refiner,
            note=answer.note,
            now=self._now(),
            team=team,
        )
        board = self.store.create_storyboard(replace(board, card_ts=writing_ts))
        self._show_card(board)
        return board

    def cost_line(self, board: Storyboard) -> str:
        """The expected time and cost of rendering the storyboard, as it would run and the other way."""
        side_by_side, one_by_one = expected_cost(board, pricing=self.settings.pricing)
        return story_blocks.cost_line(side_by_side, one_by_one, continuity=board.continuity)

    def _show_card(self, board: Storyboard) -> None:
        if board.card_ts:
            card_ts = board.card_ts
            text, card_blocks = story_blocks.storyboard_card(board, self.cost_line(board))
            self._quietly(lambda: self.chat.update(board.channel, card_ts, text=text, blocks=card_blocks))

    def _board(self, channel: str, thread_ts: str, user: str) -> Storyboard | None:
        board = self.store.get_storyboard(channel, thread_ts)
        if board is None:
            self._tell(channel, user, thread_ts, GONE)
        return board

    def _owned_board(self, channel: str, thread_ts: str, user: str) -> Storyboard | None:
        """The storyboard, if `user` may act on it (its owner or an admin); else they are told why."""
        board = self._board(channel, thread_ts, user)
        if board is None:
            return None
        try:
            check_owner(board.owner, user, self.admins)
        except ConversationError as error:
            self._tell(channel, user, thread_ts, str(error))
            return None
        return board

    def _change_card(
        self, channel: str, thread_ts: str, user: str, change: Callable[[Storyboard], Storyboard]
    ) -> Storyboard | None:
        board = self._board(channel, thread_ts, user)
        if board is None:
            return None
        try:
            board = change_storyboard(self.store, board, change)
        except ConversationError as error:
            self._tell(channel, user, thread_ts, str(error))
            return None
        self._show_card(board)
        return board

    def edit_view(
        self, *, channel: str, thread_ts: str, shot: int, revision: int, user: str
    ) -> dict[str, Any] | None:
        """✏️ Edit on a shot: the modal, or None (and a note) when the shot can't be edited now."""
        board = self._board(channel, thread_ts, user)
        if board is None:
            return None
        try:
            check_owner(board.owner, user, self.admins)
            if board.generated:
                raise StoryboardChanged("This storyboard is already rendering; its shots can't change now.")
            if board.revision != revision or not 0 <= shot < len(board.shots):
                raise StoryboardChanged(
                    "The storyboard changed since; use the buttons on the card as it is now."
                )
        except ConversationError as error:
            self._tell(channel, user, thread_ts, str(error))
            return None
        return story_blocks.shot_edit_view(board, shot)

    def edit(
        self, *, channel: str, thread_ts: str, shot: int, revision: int, user: str, title: str, prompt: str
    ) -> Storyboard | None:
        now = self._now()
        return self._change_card(
            channel,
            thread_ts,
            user,
            lambda b: edit_shot(
                b, shot, title=title, prompt=prompt, user=user, admins=self.admins, revision=revision, now=now
            ),
        )

    def remove(
        self, *, channel: str, thread_ts: str, shot: int, revision: int, user: str
    ) -> Storyboard | None:
        now = self._now()
        return self._change_card(
            channel,
            thread_ts,
            user,
            lambda b: remove_shot(b, shot, user=user, admins=self.admins, revision=revision, now=now),
        )

    def move(
        self, *, channel: str, thread_ts: str, shot: int, by: int, revision: int, user: str
    ) -> Storyboard | None:
        now = self._now()
        return self._change_card(
            channel,
            thread_ts,
            user,
            lambda b: move_shot(b, shot, by, user=user, admins=self.admins, revision=revision, now=now),
        )

    def toggle_continuity(
        self, *, channel: str, thread_ts: str, revision: int, user: str
    ) -> Storyboard | None:
        now = self._now()
        return self._change_card(
            channel,
            thread_ts,
            user,
            lambda b: set_continuity(
                b, not b.continuity, user=user, admins=self.admins, revision=revision, now=now
            ),
        )

    # Generate

    def generate(self, *, channel: str, thread_ts: str, revision: int, user: str) -> Storyboard | None:
        """▶️ Generate: every shot checked, the day's quota checked for all of them, then the shots
        start (as many as the caps allow; the rest as earlier ones finish)."""
        board = self._board(channel, thread_ts, user)
        if board is None:
            return None
        refusal = self._generate_refusal(board, user, revision)
        if refusal:
            self._tell(channel, user, thread_ts, refusal)
            return None
        try:
            board = change_storyboard(self.store, board, lambda b: self._generated(b, revision))
        except ConversationError as error:
            self._tell(channel, user, thread_ts, str(error))
            return None
        if board.card_ts:
            card_ts = board.card_ts
            text, closed = story_blocks.closed_storyboard_card(board, f"▶️ <@{user}> started the render.")
            self._quietly(lambda: self.chat.update(channel, card_ts, text=text, blocks=closed))
        text, progress = story_blocks.storyboard_progress(board)
        try:
            progress_ts = self.chat.post(channel, text=text, blocks=progress, thread_ts=thread_ts)
            board = change_storyboard(self.store, board, lambda b: replace(b, progress_ts=progress_ts))
        except ChatError:
            log.warning("no progress message for storyboard %s; the cut will still be posted", board.key)
        return self._launch_ready(board)

    def _generated(self, board: Storyboard, revision: int) -> Storyboard:
        if board.generated:
            raise StoryboardChanged("This storyboard is already rendering.")
        if board.revision != revision:
            raise StoryboardChanged("The storyboard changed since; use the buttons on the card as it is now.")
        shots = tuple(replace(shot, state=WAITING) for shot in board.shots)
        return replace(board, shots=shots, generated=True, updated_at=self._now())

    def _generate_refusal(self, board: Storyboard, user: str, revision: int) -> str | None:
        try:
            check_owner(board.owner, user, self.admins)
        except ConversationError as error:
            return str(error)
        if board.generated:
            return "This storyboard is already rendering (or has been rendered)."
        if board.revision != revision:
            return "The storyboard changed since; use the Generate button on the card as it is now."
        refusal = access_refusal(self.limits, user=board.owner, channel=board.channel)
        if refusal:
            return f"⏸️ {refusal}"
        problems = limit_problems(board.settings, self.limits)
        if problems:
            return blocks.cant_render_message(sentences(problems))
        problem = self._text_refusal([shot.prompt for shot in board.shots] + [board.settings.negative_prompt])
        if problem:
            return f"🙅 {problem}"
        now = self._now()
        today = usage(board.owner, self.store.jobs_for_owner(board.owner, since=now - DAY_S), [], now=now)
        left = self.limits.per_user_daily - today.last_day
        if len(board.shots) > left:
            return (
                f"⏸️ A storyboard of {len(board.shots)} shots is {len(board.shots)} renders, and you have "
                f"{max(0, left)} left today. Remove some shots, or try again later."
            )
        return None

    def _launch_ready(self, board: Storyboard) -> Storyboard:
        """Start every shot that may start now, in order; refresh the progress message."""
        for index in next_to_launch(board):
            board = self._launch_shot(board, index)
            if board.shots[index].state == WAITING:
                break  # the caps are full: the rest wait for a shot to finish
        self._show_progress(board)
        return board

    def _launch_shot(self, board: Storyboard, index: int) -> Storyboard:
        now = self._now()
        job_id = shot_job_id(board, index)
        try:
            spec, sources = shot_spec(board, index, job_id)
        except (SpecError, UnknownModelError) as error:
            why = str(error)
            return self._change(board, lambda b: with_shot(b, index, now, state=FAILED, failure=why))
        inputs = {name: render_key(source, "video.mp4") for name, source in sources.items()}
        job = shot_job(board, spec, inputs, now)
        board = self._change(board, lambda b: replace(b, launches=b.launches + 1))
        try:
            job = self.store.reserve_job(job, admission(self.limits, board.owner, now=now))
        except QuotaExceeded as refused:
            if in_flight(board):
                return board  # waits: a shot finishing frees a slot and starts it
            why = str(refused)
            return self._change(board, lambda b: with_shot(b, index, now, state=FAILED, failure=why))
        except Conflict:
            return board

        def queued(b: Storyboard) -> Storyboard:
            if b.cancelled:
                raise StoryboardChanged("This storyboard was cancelled.")
            return with_shot(b, index, now, state=QUEUED, job_id=job.job_id)

        try:
            board = self._change(board, queued)
        except StoryboardChanged:  # 🛑 Cancel came first: the shot never starts, its quota goes back
            self._finish_job(job, "cancelled")
            return self.store.get_storyboard(board.channel, board.thread_ts) or board
        if not self._launched(job):
            board = self._change(board, lambda b: with_shot(b, index, now, state=FAILED, failure=CANT_START))
        return board

    def _launched(self, job: Job) -> bool:
        """Hand `job` to the launcher; False (the job failed, its quota given back) if it couldn't."""
        try:
            self.services.launcher.launch(job, job.job_spec)
        except Exception:
            log.exception("launching %s failed", job.job_id)
            change_job(self.store, job, lambda j: advance(j, "failed", now=self._now(), failure=CANT_START))
            return False
        try:
            change_job(self.store, job, lambda j: replace(j, launched_at=self._now()))
        except Exception:
            log.warning("could not mark %s launched; the sweeper will ask the renderer", job.job_id)
        return True

    def _change(self, board: Storyboard, change: Callable[[Storyboard], Storyboard]) -> Storyboard:
        return change_storyboard(self.store, board, change)

    def _show_progress(self, board: Storyboard) -> None:
        if board.progress_ts:
            progress_ts = board.progress_ts
            text, progress = story_blocks.storyboard_progress(board)
            self._quietly(lambda: self.chat.update(board.channel, progress_ts, text=text, blocks=progress))

    # a failed shot, a failed cut

    def retry_shot(self, *, channel: str, thread_ts: str, shot: int, user: str) -> Storyboard | None:
        """🔁 Render shot N again: that shot alone; the cut is joined again once it is done."""
        board = self._owned_board(channel, thread_ts, user)
        if board is None:
            return None
        if not 0 <= shot < len(board.shots) or board.shots[shot].state != FAILED:
            self._tell(
                channel, user, thread_ts, "That shot isn't failed (any more), so there is nothing to redo."
            )
            return None
        refusal = access_refusal(self.limits, user=board.owner, channel=channel)
        if refusal:
            self._tell(channel, user, thread_ts, f"⏸️ {refusal}")
            return None

        def again(b: Storyboard) -> Storyboard:
            if b.shots[shot].state != FAILED:
                raise StoryboardChanged("That shot is already being rendered again.")
            return with_shot(b, shot, self._now(), state=WAITING, failure="", percent=0)

        try:
            board = change_storyboard(self.store, board, again)
        except ConversationError as error:
            self._tell(channel, user, thread_ts, str(error))
            return None
        return self._launch_ready(board)

    def cancel(self, *, channel: str, thread_ts: str, user: str) -> Storyboard | None:
        """🛑 Cancel on the progress message: every shot still waiting, queued or rendering, and the
        cut being joined, stop; the shots already done are kept and listed. A render stopped before it
        reached the GPU gives its quota back (bot.conversation.quotas), as any cancelled render does."""
        board = self._owned_board(channel, thread_ts, user)
        if board is None:
            return None
        stopping: list[str] = []

        def cancel(b: Storyboard) -> Storyboard:
            if not b.under_way:
                raise StoryboardChanged("This storyboard has nothing rendering any more.")
            stopping[:] = [s.job_id for s in b.shots if s.job_id and s.state in (QUEUED, RENDERING)]
            if b.cut_state == "joining" and b.cut_job_id and b.cut_job_id not in stopping:
                stopping.append(b.cut_job_id)
            return cancelled(b, user, self._now())

        try:
            board = change_storyboard(self.store, board, cancel)
        except ConversationError as error:
            self._tell(channel, user, thread_ts, str(error))
            return None
        self._show_progress(board)
        for job_id in stopping:
            try:
                self.services.launcher.stop(job_id)
            except Exception:  # the sweeper ends what no event ends
                log.exception("stopping %s of storyboard %s failed", job_id, board.key)
        return board

    def rebuild_cut(self, *, channel: str, thread_ts: str, user: str) -> Storyboard | None:
        board = self._owned_board(channel, thread_ts, user)
        if board is None:
            return None
        if board.cut_state != "failed" or not board.all_done:
            self._tell(channel, user, thread_ts, "The cut isn't failed, so there is nothing to rebuild.")
            return None
        return self._start_cut(board)

    def _start_cut(self, board: Storyboard) -> Storyboard:
        """Every shot is done: join them (crossfades) in a join job; with continuity the last shot's
        video already is the whole story, so it is posted as the cut."""
        now = self._now()
        if board.continuity:
            last = board.shots[-1]
            assert last.job_id is not None
            board = self._change(board, lambda b: replace(b, cut_job_id=last.job_id, cut_state="joining"))
            self._post_cut(board, last.job_id)
            return board
        job_id = cut_job_id(board)
        spec, sources = cut_spec(board, job_id)
        inputs = {name: render_key(source, "video.mp4") for name, source in sources.items()}
        job = shot_job(board, spec, inputs, now)
        board = self._change(
            board,
            lambda b: replace(
                b, launches=b.launches + 1, cut_job_id=job_id, cut_state="joining", cut_failure=""
            ),
        )
        try:
            job = self.store.create_job(job)
        except Conflict:
            return board
        if not self._launched(job):
            board = self._change(board, lambda b: replace(b, cut_state="failed", cut_failure=CANT_START))
        self._show_progress(board)
        return board

    # job events (from bot.jobs.delivery)

    def on_job_event(self, job: Job, event: JobStateChange | JobProgress, explanation: str = "") -> None:
        """A shot's or the cut's event: its line on the progress message, then what follows from it."""
        board = self.store.get_storyboard(job.channel, job.thread_ts)
        if board is None:
            log.warning("event for job %s of a storyboard that is gone", job.job_id)
            return
        if isinstance(event, JobProgress):
            self._on_progress(board, job, event)
        elif event.status == "InProgress":
            self._on_progress(board, job, None)
        elif event.status == "Completed":
            self.on_completed(board, job)
        elif event.status in ("Failed", "Stopped"):
            self.on_failed(board, job, explanation or CANCELLED, cancelled=event.status == "Stopped")

    def _start_job(self, job: Job) -> Job:
        def start(current: Job) -> Job:
            if current.status != "queued":
                raise InvalidTransition(f"{current.job_id} is {current.status}")
            return advance(current, "rendering", now=self._now())

        try:
            return change_job(self.store, job, start)
        except InvalidTransition:
            return self.store.get_job(job.job_id) or job

    def _on_progress(self, board: Storyboard, job: Job, event: JobProgress | None) -> None:
        job = self._start_job(job)
        index = board.shot_of(job.job_id)
        if index is None or job.status != "rendering":
            return
        percent = board.shots[index].percent
        if event is not None and event.phase == "denoising" and event.total:
            percent = round(100 * event.step / event.total)
        shot = board.shots[index]
        if shot.state == RENDERING and (percent - shot.percent < 10 and percent != 100):
            return  # a line per shot, not a message per step
        board = self._change(
            board,
            lambda b: (
                with_shot(b, index, self._now(), state=RENDERING, percent=percent)
                if b.shots[index].state in (QUEUED, RENDERING)
                else b
            ),
        )
        self._show_progress(board)

    def _finish_job(self, job: Job, status: str, **changes: Any) -> Job | None:
        """The job moved to `status` from wherever it is; None when an earlier event already ended it."""

        def finish(current: Job) -> Job:
            if current.status in TERMINAL:
                raise InvalidTransition(f"{current.job_id} already {current.status}")
            if status in ("delivering", "delivered") and current.status == "queued":
                current = advance(current, "rendering", now=self._now())
            if status == "delivered" and current.status == "rendering":
                current = advance(current, "delivering", now=self._now())
            return advance(current, status, now=self._now(), **changes)

        try:
            return change_job(self.store, job, finish)
        except InvalidTransition:
            return None

    def _result(self, job_id: str) -> dict[str, Any]:
        try:
            with self.services.blobs.open(render_key(job_id, "result.json")) as stream:
                result = json.load(stream)
        except (BlobNotFound, ValueError):
            return {}
        return result if isinstance(result, dict) else {}

    def on_completed(self, board: Storyboard, job: Job) -> None:
        if job.job_id == board.cut_job_id and not board.continuity:
            if self._finish_job(job, "delivering") is not None:
                self._post_cut(board, job.job_id)
            return
        index = board.shot_of(job.job_id)
        result = self._result(job.job_id)
        if index is None or self._finish_job(job, "delivered", result=result) is None:
            return
        video = result.get("video") if isinstance(result.get("video"), dict) else {}
        frames = int(video.get("frames") or job.spec.get("num_frames") or 0)
        board = self._change(
            board, lambda b: with_shot(b, index, self._now(), state=DONE, percent=100, frames=frames)
        )
        board = self._launch_ready(board)
        if board.all_done and board.cut_state in ("", "failed") and not board.cancelled:
            self._start_cut(board)

    def on_failed(self, board: Storyboard, job: Job, explanation: str, *, cancelled: bool = False) -> None:
        status = "cancelled" if cancelled else "failed"
        changes = {} if cancelled else {"failure": explanation}
        if self._finish_job(job, status, **changes) is None:
            return
        if board.cancelled:  # stopped by 🛑 Cancel: its line already says so
            return
        if job.job_id == board.cut_job_id:
            board = self._change(board, lambda b: replace(b, cut_state="failed", cut_failure=explanation))
            self._show_progress(board)
            return
        index = board.shot_of(job.job_id)
        if index is None:
            return
        board = self._change(
            board, lambda b: with_shot(b, index, self._now(), state=FAILED, failure=explanation)
        )
        self._launch_ready(board)  # a slot is free: a waiting shot may start

    def _spent(self, board: Storyboard) -> RenderCost | None:
        """What the shots and the join really took, together (costs.spent of each finished job)."""
        job_ids = [shot.job_id for shot in board.shots if shot.job_id]
        if board.cut_job_id and board.cut_job_id not in job_ids:
            job_ids.append(board.cut_job_id)
        jobs = [job for job_id in job_ids if (job := self.store.get_job(job_id)) is not None]
        costs = [cost for job in jobs if (cost := spent(job, pricing=self.settings.pricing)) is not None]
        if not costs:
            return None
        total = costs[0]
        for cost in costs[1:]:
            total = total + cost
        return total

    def _post_cut(self, board: Storyboard, job_id: str) -> None:
        """The cut into the thread, the shot list under it with what can follow a finished video
        (⏩ Extend, 〰️ Smooth, 🔍 Upscale: the same controls as under any result); the cut's job ends
        `delivered` with its result, and the thread becomes a session (`cut_session`) so they work.
        The progress message says the cut is below."""
        result = self._result(job_id)
        video = result.get("video") if isinstance(result.get("video"), dict) else {}
        fps = int(video.get("fps") or resolve_model(board.settings.model).fps)
        frames = int(video.get("frames") or 0)
        try:
            with self.services.blobs.open(render_key(job_id, "video.mp4")) as data:
                file_id = self.chat.upload_video(
                    board.channel,
                    board.thread_ts,
                    data=data,
                    filename="storyboard.mp4",
                    title=board.idea[:200],
                    comment=story_blocks.cut_caption(board, frames, fps, self._spent(board)),
                    alt_text=f"AI-generated storyboard of {len(board.shots)} shots: {board.idea}"[:1000],
                )
        except BlobNotFound:
            self._cut_failed(board, job_id, "the cut's video is missing.")
            return
        except Exception:
            self._undeliver(job_id)  # so a retry of the event (or the sweeper) posts it
            raise
        job = self._delivered(job_id, result, file_id)
        self._cut_session(board, job_id)
        controls = blocks.follow_up_elements(job, offers(job)) if job is not None else []
        text, shot_list = story_blocks.cut_shot_list(board, controls)
        self._quietly(
            lambda: self.chat.post(board.channel, text=text, blocks=shot_list, thread_ts=board.thread_ts)
        )
        board = self._change(board, lambda b: replace(b, cut_state="done"))
        self._show_progress(board)
        if job is not None:
            self._refresh_home(job)

    def _refresh_home(self, job: Job) -> None:
        """The owner's App Home lists the cut among their videos, as any delivered one (never in the
        way of the cut)."""
        try:
            Home(self.services).refresh(job)
        except Exception:
            log.warning("could not refresh the Home tab of %s", job.owner, exc_info=True)

    def _delivered(self, job_id: str, result: dict[str, Any], file_id: str) -> Job | None:
        """The cut's job, delivered: its result (what the follow-ups read) and its file."""
        job = self.store.get_job(job_id)
        if job is None:
            return None

        def deliver(current: Job) -> Job:
            if current.status == "delivering":
                current = advance(current, "delivered", now=self._now())
            return replace(current, result=result or current.result, file_id=file_id)

        return change_job(self.store, job, deliver)

    def _undeliver(self, job_id: str) -> None:
        """The cut couldn't be posted (Slack failed): back to `rendering`, so the event's retry posts it."""
        job = self.store.get_job(job_id)
        if job is None or job.status != "delivering":
            return
        try:
            change_job(
                self.store, job, lambda j: replace(j, status="rendering") if j.status == "delivering" else j
            )
        except Exception:
            log.warning("could not hand the cut %s back for another try", job_id, exc_info=True)

    def _cut_failed(self, board: Storyboard, job_id: str, why: str) -> None:
        job = self.store.get_job(job_id)
        if job is not None and job.status not in TERMINAL:
            self._finish_job(job, "failed", failure=f"The cut didn't join: {why}")
        board = self._change(board, lambda b: replace(b, cut_state="failed", cut_failure=why))
        self._show_progress(board)

    def _cut_session(self, board: Storyboard, job_id: str) -> None:
        """The thread's session (made once, with the first cut), with this cut among its videos."""
        try:
            self.store.create_session(cut_session(board, job_id, self._now()))
            return
        except Conflict:
            pass
        session = self.store.get_session(board.channel, board.thread_ts)
        if session is not None:
            change_session(self.store, session, lambda s: with_cut(s, job_id))
