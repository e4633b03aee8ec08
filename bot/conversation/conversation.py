"""The conversation's use cases, as the Slack listeners call them: drafting (bot.conversation.drafting:
start from words or a picture, refine, settings, cancel a draft, back to drafting from a render),
rendering (bot.conversation.rendering: generate, reroll, final render, retry, cancel a render; extend,
smooth and upscale a finished video) and
`/video status`.

Each takes plain values (no Slack payloads) and works through the ports in `Services`; the rules live
in `sessions`, `quotas` and `requests`, the messages in `bot.slack.blocks`. Anything refused is
explained to the person as an ephemeral note in the thread; every accepted request ends in a draft, a
video or an explanation.
"""

from __future__ import annotations

from bot.conversation.costs import spent
from bot.conversation.drafting import Drafting
from bot.conversation.quotas import DAY_S, usage
from bot.conversation.rendering import Rendering
from bot.conversation.use_case import UseCase
from bot.conversation.votes import Votes
from bot.runtime.services import Services
from bot.slack import blocks
from bot.slack.status import feedback_summary, status_message


class Conversation(UseCase):
    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self.drafting = Drafting(services)
        self.rendering = Rendering(services)
        # drafting
        self.start = self.drafting.start
        self.reply = self.drafting.reply
        self.share_picture = self.drafting.share_picture  # or a video, to restyle
        self.share_from_reaction = self.drafting.share_from_reaction
        self.channel_pictures = self.drafting.channel_pictures
        self.choose_channel_pictures = self.drafting.choose_channel_pictures
        self.settings_view = self.drafting.settings_view
        self.apply_settings = self.drafting.apply_settings
        self.cancel_draft = self.drafting.cancel_draft
        self.refine_from = self.drafting.refine_from
        # rendering
        self.generate = self.rendering.generate
        self.reroll = self.rendering.reroll
        self.final_render = self.rendering.final_render
        self.retry = self.rendering.retry
        self.cancel_job = self.rendering.cancel_job
        self.extend = self.rendering.extend
        self.smooth = self.rendering.smooth
        self.upscale = self.rendering.upscale
        # feedback on results
        self.votes = Votes(services)
        self.vote_up = self.votes.vote_up
        self.vote_down = self.votes.vote_down

    def status(self, *, user: str) -> blocks.Message:
        """`/video status`: my renders of the last day, the queue, my quota, the GPU time and money
        they took."""
        now = self._now()
        mine = self.store.jobs_for_owner(user, since=now - DAY_S)
        active = self.store.active_jobs()
        listed = [job for job in mine if job.deleted_at is None]  # deleted videos still count
        # What the day's renders took, deleted ones too: the GPU time was spent.
        spent_today = [cost for job in mine if (cost := spent(job, pricing=self.settings.pricing))]
        current = usage(user, mine, active, now=now)
        text, status_blocks = status_message(user, listed, active, current, self.limits, spent=spent_today)
        if user in self.admins:  # what people think of the videos, for those who run the bot
            text, status_blocks = feedback_summary(self.votes.summary(), text, status_blocks)
        return text, status_blocks
