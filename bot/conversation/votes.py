"""👍 / 👎 on a result: recorded with the render's parameters through the store (one vote per person
per render, changed by voting again), and summed for admins in `/video status`."""

from __future__ import annotations

from bot.conversation.feedback import FEEDBACK_WINDOW_S, UP, VoteTotal, totals, vote_on
from bot.conversation.use_case import UseCase

THANKS = {
    "up": "Thanks! 👍 noted for this video. Press 👎 instead to change your vote.",
    "down": "Thanks! 👎 noted for this video. Press 👍 instead to change your vote.",
}


class Votes(UseCase):
    def vote(self, *, job_id: str, user: str, vote: str) -> None:
        job = self.store.get_job(job_id)
        if job is None:
            return
        self.store.record_feedback(vote_on(job.job_id, job.spec, user=user, vote=vote, now=self._now()))
        self._tell(job.channel, user, job.thread_ts, THANKS[vote])

    def vote_up(self, *, job_id: str, user: str) -> None:
        self.vote(job_id=job_id, user=user, vote=UP)

    def vote_down(self, *, job_id: str, user: str) -> None:
        self.vote(job_id=job_id, user=user, vote="down")

    def summary(self) -> list[VoteTotal]:
        """The votes of the last 30 days, per model and quality."""
        return totals(self.store.feedback_since(self._now() - FEEDBACK_WINDOW_S))
