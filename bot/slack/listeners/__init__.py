"""Bolt listeners, one module per Slack surface; each has `register(app, conversation)`.

Every listener acks at once (Slack allows 3 seconds) and does its slow work in a lazy listener, which
Bolt runs in a thread locally and as a second invocation of the same function on Lambda. Only the
Settings button does its work in the ack: a modal must open within 3 seconds of the click.

People's words arrive escaped the way Slack escapes them (`&amp;`, `&lt;`, `&gt;`, `<@U…>` tokens); every
listener that reads them decodes them once with `slack_text.plain_text_from_slack`, and the bot escapes
once on the way out.
"""

from __future__ import annotations

from slack_bolt import App

from bot.conversation.conversation import Conversation
from bot.runtime.services import Services
from bot.slack.listeners import actions, commands, home, messages, reactions, story, views
from bot.slack.listeners.relevance import drop_irrelevant_events
from bot.slack.listeners.replays import refuse_replays


def register_listeners(app: App, services: Services) -> None:
    conversation = Conversation(services)
    # First: events that are none of the bot's business are dropped, costing nothing (see relevance.py).
    app.use(drop_irrelevant_events(conversation.channel_pictures, services.settings.admins))
    # Before every listener: a signed request is answered once (see replays.py).
    app.use(refuse_replays(services.store, services.clock))
    commands.register(app, conversation)
    actions.register(app, conversation)
    views.register(app, conversation)
    messages.register(app, conversation)
    reactions.register(app, conversation)
    home.register(app, conversation)
    story.register(app, conversation)
