"""Text people send, as Slack delivers it, turned into the plain text they meant: decoded once, here.

Slack escapes `&`, `<` and `>` in message and slash-command text (`&amp;`, `&lt;`, `&gt;`) and writes
mentions, channels and links as `<…>` tokens (its "formatting text" docs): `<@U123>`, `<#C123|general>`,
`<!here>`, `<!subteam^S1|@design>`, `<!date^…|Feb 18>`, `<https://x.example|a label>`. Every listener
that reads people's words passes them through `plain_text_from_slack` once; the bot escapes once on the way
out (`bot.blocks.escape`), so "a cat & a dog" reaches the model as written and shows as written.

A token becomes the plain words it stands for, never something that could turn back into a mention, a
broadcast or a link when the text is shown again:
- a person: their name when Slack gave it (`<@U123|alice>` → `alice`), otherwise `someone` (reading names
  would need the `users:read` scope; a prompt doesn't need to know who); the bot itself, addressed in a
  reply, is left out;
- a channel: its name (`general`), or `a channel`;
- `<!here>`, `<!channel>`, `<!everyone>`: the bare word (`here`); a user group: its name; a date: the text
  Slack shows for it;
- a link: its label, or the address itself as plain text.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"<([^<>]*)>")
_SPACES_LEFT_BEHIND = re.compile(r"[ \t]{2,}")


def _token_words(body: str, bot_user_id: str | None) -> str:
    target, _, label = body.partition("|")
    if target.startswith("@"):
        if bot_user_id and target[1:] == bot_user_id:
            return ""
        return label.lstrip("@").strip() or "someone"
    if target.startswith("#"):
        return label.lstrip("#").strip() or "a channel"
    if target.startswith("!subteam^"):
        return label.lstrip("@").strip() or "a group"
    if target.startswith("!date^"):
        return label
    if target.startswith("!"):
        return label.lstrip("@").strip() or target[1:]
    return label or target


def plain_text_from_slack(text: str, *, bot_user_id: str | None = None) -> str:
    """What the person typed, from Slack's escaped text (see the module's docstring for the tokens)."""
    removed_bot = False

    def token(match: re.Match[str]) -> str:
        nonlocal removed_bot
        words = _token_words(match.group(1), bot_user_id)
        removed_bot = removed_bot or words == ""
        return words

    plain = _TOKEN.sub(token, text)
    if removed_bot:
        plain = _SPACES_LEFT_BEHIND.sub(" ", plain).strip()
    # Entities last, and `&amp;` after the others: "&amp;lt;" is what a person typing "&lt;" sends.
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
