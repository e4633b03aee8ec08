"""SessionStore adapters: `sqlite` (the local default) and `dynamodb`; both are used through the
optimistic-update loop of bot.conversation.updates."""
