"""Which Slack events are the bot's business, judged from the event alone, before anything else runs.

In a busy channel almost every message is people talking to each other. Each one reaches the bot (it
subscribes to the channel's messages to see replies in its threads and pictures shared with it), and
each one would cost a listener's work, a replay record in the store and, on Lambda, a second invocation.
`worth_handling` answers from the request body alone (no store, no Slack call, no AWS call), so the
front door acks and drops the rest at once:

- a message from a bot (the bot itself included), an edit, a deletion, a join...: not ours;
- a reply in a thread: ours only when the thread's first message is the bot's (a `/video` session), or
  the replier's own (their picture may be a session), or it mentions the bot, or an admin wrote it;
- a top-level message in a channel: ours only with a file (a picture or a video) and the bot mentioned,
  or in a channel that takes every picture (`/video channel pictures all`; the caller's lookup);
- in a direct message with the bot: a file, or a reply in a thread;
- a reaction: only 🎬 (`:clapper:`) on a message, which asks for that message's picture or video;
- `app_home_opened`: only for the Home tab (the Messages tab opens with every look at the bot's DM);
- anything else (commands, buttons, modals, other events): for the listeners to judge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from typing import Any

log = logging.getLogger(__name__)

CLAPPER = "clapper"  # 🎬: "make a video of this"
MESSAGE_SUBTYPES = (None, "thread_broadcast", "file_share")
SLACKBOT = "USLACKBOT"
DIRECT_MESSAGE = "im"
HOME_TAB = "home"


def bot_user_id(body: Mapping[str, Any]) -> str | None:
    """The bot's own user id, as the Events API envelope names it (`authorizations`)."""
    authorizations = body.get("authorizations")
    if isinstance(authorizations, list):
        for authorization in authorizations:
            if (
                isinstance(authorization, dict)
                and authorization.get("is_bot")
                and authorization.get("user_id")
            ):
                return str(authorization["user_id"])
    return None


def mentions(text: object, user_id: str | None) -> bool:
    """Whether Slack's text of a message mentions `user_id` (`<@U…>` or `<@U…|name>`): the whole id,
    since another person's id can begin with the bot's."""
    return bool(user_id) and isinstance(text, str) and (f"<@{user_id}>" in text or f"<@{user_id}|" in text)


def has_files(event: Mapping[str, Any]) -> bool:
    files = event.get("files")
    return isinstance(files, list) and any(isinstance(f, dict) for f in files)


def is_direct_message(event: Mapping[str, Any]) -> bool:
    channel = event.get("channel")
    return event.get("channel_type") == DIRECT_MESSAGE or (
        isinstance(channel, str) and channel.startswith("D")
    )


def worth_handling(
    body: Mapping[str, Any],
    *,
    admins: Collection[str] = frozenset(),
    takes_every_picture: Callable[[str], bool] = lambda channel: False,
    bot: str | None = None,
) -> bool:
    """False for an event the bot will certainly ignore; True for everything else (the listeners judge).
    `takes_every_picture(channel)` is asked only for a top-level file shared in a channel without a
    mention: whether that channel opted in to every picture. `bot`: the bot's user id where the caller
    knows it (Bolt's context); Slack's envelope names one installation that can see the event, not
    always the bot's, and a message can't be judged without knowing who the bot is."""
    if body.get("type") != "event_callback":
        return True
    event = body.get("event")
    if not isinstance(event, dict):
        return False
    kind = event.get("type")
    if kind == "reaction_added":
        item = event.get("item")
        return event.get("reaction") == CLAPPER and isinstance(item, dict) and item.get("type") == "message"
    if kind == "app_home_opened":
        return event.get("tab") == HOME_TAB  # the Messages tab (a DM opened): nothing to publish
    if kind != "message":
        return True
    bot = bot_user_id(body) or bot
    if bot is None:
        return True
    return _message_worth_handling(event, bot, admins, takes_every_picture)


def _message_worth_handling(
    event: Mapping[str, Any],
    bot: str,
    admins: Collection[str],
    takes_every_picture: Callable[[str], bool],
) -> bool:
    user = event.get("user")
    if event.get("subtype") not in MESSAGE_SUBTYPES or event.get("bot_id") is not None:
        return False
    if not isinstance(user, str) or not user or user in (SLACKBOT, bot):
        return False
    thread_ts, ts = event.get("thread_ts"), event.get("ts")
    in_thread = isinstance(thread_ts, str) and thread_ts != ts
    if is_direct_message(event):
        return in_thread or has_files(event)
    if in_thread:
        parent = event.get("parent_user_id")
        return (
            parent is None  # not said: the listeners look the thread up
            or parent in (bot, user)
            or user in admins
            or mentions(event.get("text"), bot)
        )
    if not has_files(event):
        return False
    channel = event.get("channel")
    return mentions(event.get("text"), bot) or (isinstance(channel, str) and takes_every_picture(channel))


ALL = "all"  # every picture or video shared in the channel starts a session
MENTION = "mention"  # only those shared with the bot mentioned (or reacted to with 🎬)
PICTURE_MODES = (ALL, MENTION)
CHANNEL_SETTING_TTL_S = 60.0


class ChannelPictures:
    """Whether a channel takes every picture, read from the store once a minute at most (in memory, per
    process): pictures in busy channels don't each cost a read. A change made here shows at once here,
    and elsewhere within `ttl_s`."""

    def __init__(
        self,
        lookup: Callable[[str], str | None],
        *,
        default: str = MENTION,
        clock: Callable[[], float],
        ttl_s: float = CHANNEL_SETTING_TTL_S,
    ) -> None:
        self.lookup, self.default, self.clock, self.ttl_s = lookup, default, clock, ttl_s
        self._known: dict[str, tuple[str, float]] = {}

    def mode(self, channel: str) -> str:
        now = self.clock()
        known = self._known.get(channel)
        if known is None or now - known[1] > self.ttl_s:
            try:
                chosen = self.lookup(channel)
            except Exception:  # the store is unreachable: the workspace's default, asked again next time
                log.warning("could not read the picture setting of %s", channel, exc_info=True)
                return self.default
            known = (chosen if chosen in PICTURE_MODES else self.default, now)
            self._known[channel] = known
        return known[0]

    def takes_every_picture(self, channel: str) -> bool:
        return self.mode(channel) == ALL

    def remember(self, channel: str, mode: str) -> None:
        self._known[channel] = (mode, self.clock())
