"""Before every listener: events that are certainly none of the bot's business are acked and dropped
(bot.slack.relevance), before the replay record or any listener costs a write or a call. On Lambda the
front door (bot.runtime.lambda_handlers) drops them even earlier, before Bolt is reached."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import BoltRequest, BoltResponse

from bot.slack.relevance import ChannelPictures, worth_handling

Middleware = Callable[[BoltRequest, Callable[[], BoltResponse]], BoltResponse]


def drop_irrelevant_events(pictures: ChannelPictures, admins: frozenset[str]) -> Middleware:
    def drop_events_not_for_the_bot(req: BoltRequest, next: Callable[[], BoltResponse]) -> BoltResponse:
        body = req.body
        if req.lazy_only or not isinstance(body, dict):
            return next()
        if worth_handling(body, admins=admins, takes_every_picture=pictures.takes_every_picture):
            return next()
        return BoltResponse(status=200, body="")

    return drop_events_not_for_the_bot
