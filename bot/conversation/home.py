"""The App Home tab's use cases: show my Home (recent videos, quota, renders under way, defaults),
change a default, delete a video of mine.

The Home is published whole (one `views.publish`) whenever what it shows changes: when it is opened,
after a render ends (bot.jobs.delivery calls `refresh`), after a default is changed or a video deleted.
A delivered video is shown with its poster, uploaded once as the bot's own Slack file (Block Kit image
blocks show Slack files by id; our storage is private), and its thread's permalink, asked once, both
when the person opens the tab; they are kept on the job, so every later publish costs one call, and
the delivery of a video costs one call more than before (the publish).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.adapters.blobs import render_key
from bot.conversation.defaults import InvalidDefault, defaults_for
from bot.conversation.ports import BlobNotFound, Conflict
from bot.conversation.quotas import DAY_S, usage
from bot.conversation.sessions import ConversationError, Job, check_owner
from bot.conversation.updates import change_job
from bot.conversation.use_case import UseCase
from bot.slack import blocks
from bot.slack.chat import ChatError
from bot.slack.home_blocks import HomePage, home_view
from processing_job.models import ModelInfo, resolve_model

log = logging.getLogger(__name__)

SHOWN_VIDEOS = 8  # 3 blocks each: with the rest, well inside a Home tab's 100
SHOWN_RUNNING = 10
LOOKED_AT = 40  # my newest jobs read to find them (failed and deleted ones are skipped)
SAVE_ATTEMPTS = 5
SAVED = "✅ Saved. New videos you start begin with these defaults."
GONE = "That video is already gone."
NOT_YOURS = "You can only delete your own videos."
NOT_DELETED = "I couldn't delete that video just now, so it's still there. Please try again in a moment."


class Home(UseCase):
    def publish(self, user: str, *, notice: str = "", complete: bool = True) -> None:
        """Show `user` their Home tab as things stand now (a failure is logged, never raised).
        `complete`: fetch what shown videos lack (poster, permalink) first; without it the publish is
        the one `views.publish` call, and the next complete one fills them in."""
        now = self._now()
        today = self.store.jobs_for_owner(user, since=now - DAY_S)
        recent = self.store.jobs_for_owner(user, limit=LOOKED_AT)
        active = self.store.active_jobs()
        videos = [job for job in recent if job.status == "delivered" and job.deleted_at is None]
        queued = [job.job_id for job in active if job.status == "queued"]
        page = HomePage(
            user=user,
            usage=usage(user, today, active, now=now),
            limits=self.limits,
            defaults=defaults_for(self.store, user),
            models=self.models(),
            default_model=resolve_model(self.settings.default_model).key,
            videos=[self._shown(job) if complete else job for job in videos[:SHOWN_VIDEOS]],
            running=[
                (job, queued.index(job.job_id) + 1 if job.job_id in queued else 0)
                for job in active
                if job.owner == user
            ][:SHOWN_RUNNING],
            notice=notice,
        )
        self._quietly(lambda: self.chat.publish_home(user, home_view(page)))

    def refresh(self, job: Job) -> None:
        """A render of `job.owner`'s ended (delivered, failed or cancelled): their Home follows, at one
        call (the new video's poster and link come when they next open the tab)."""
        self.publish(job.owner, complete=False)

    def models(self) -> list[ModelInfo]:
        """The models a new video can start with (as the settings modal offers them)."""
        return blocks.model_choices(self.settings.default_model, "t2v")

    def choose_default(self, *, user: str, field: str, value: str) -> None:
        """One of the Home tab's selects changed: new sessions of `user` start from it."""
        models = tuple(info.key for info in self.models())
        for _ in range(SAVE_ATTEMPTS):
            try:
                chosen = defaults_for(self.store, user).choose(field, value, models=models)
                self.store.save_user_defaults(chosen)
                break
            except InvalidDefault as invalid:
                self.publish(user, notice=str(invalid))
                return
            except Conflict:
                continue  # two selects changed at once: read the other one's write and apply this again
        self.publish(user, notice=SAVED)

    def delete_video(self, *, job_id: str, user: str) -> None:
        """🗑️ Delete (confirmed): the Slack files (video, poster), the stored render, and the job marked
        deleted so no list shows it. Only its owner, or an admin, may."""
        job = self.store.get_job(job_id)
        if job is None or job.deleted_at is not None or job.status != "delivered":
            self.publish(user, notice=GONE)
            return
        try:
            check_owner(job.owner, user, self.admins)
        except ConversationError:
            self.publish(user, notice=NOT_YOURS)
            return
        try:
            for file_id in (job.file_id, job.poster_file_id):
                if file_id:
                    self.chat.delete_file(file_id)
        except ChatError as error:
            log.warning("could not delete the files of %s: %s", job.job_id, error)
            self.publish(user, notice=NOT_DELETED)
            return
        self.services.blobs.delete_folder(render_key(job.job_id, "").rstrip("/"))
        now = self._now()
        change_job(self.store, job, lambda current: replace(current, deleted_at=current.deleted_at or now))
        said = blocks.excerpt(str(job.spec.get("prompt", "")), 80)
        self.publish(user, notice=f"🗑️ Deleted the video “{said}”.")
        if job.owner != user:
            self.publish(job.owner, complete=False)  # an admin deleted it: its owner's Home follows

    def _shown(self, job: Job) -> Job:
        """`job` with its poster (the bot's Slack file) and its thread's permalink, fetched once."""
        if job.poster_file_id and job.permalink:
            return job
        poster = job.poster_file_id or self._upload_poster(job)
        permalink = job.permalink or self._permalink(job)
        if (poster, permalink) == (job.poster_file_id, job.permalink):
            return job

        def remember(current: Job) -> Job:
            # Someone else's publish may have uploaded a poster first: theirs stays.
            return replace(
                current,
                poster_file_id=current.poster_file_id or poster,
                permalink=current.permalink or permalink,
            )

        try:
            saved = change_job(self.store, job, remember)
        except Conflict:
            return remember(job)
        if poster and saved.poster_file_id != poster:
            self._quietly(lambda: self.chat.delete_file(poster))
        return saved

    def _upload_poster(self, job: Job) -> str | None:
        try:
            with self.services.blobs.open(render_key(job.job_id, "poster.jpg")) as stream:
                data = stream.read()
            return self.chat.upload_image(
                data,
                filename="poster.jpg",
                title=blocks.excerpt(str(job.spec.get("prompt", "")), 200),
                alt_text=blocks.video_alt_text(job),
            )
        except BlobNotFound:
            return None
        except ChatError as error:
            log.warning("could not upload the poster of %s: %s", job.job_id, error)
            return None

    def _permalink(self, job: Job) -> str | None:
        try:
            return self.chat.permalink(job.channel, job.thread_ts)
        except ChatError as error:
            log.warning("no permalink for the thread of %s: %s", job.job_id, error)
            return None
