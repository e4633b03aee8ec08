"""A thread as a person would read it, in plain text: what `make demo` prints and failing tests show.

    10:32:01 @alice: /video a corgi (only visible to @alice)
    10:32:01 videobot: 🎬 @alice wants a video: *a corgi*
        10:32:03 videobot (edited): *Draft 1* · CogVideoX-2B
                 [ Generate ] [ Cancel ]
        10:33:40 videobot: 📎 video.mp4 (1.2 MB) — here it is

Times are UTC (so the text is the same on every machine); Block Kit is shown instead of the fallback text
when a message has blocks, as Slack does.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localslack.workspace import Message

INDENT = "    "
DIVIDER = "──────────"
_TOKEN = re.compile(r"<([^<>]+)>")


def mrkdwn(text: str, users: Mapping[str, str]) -> str:
    """Slack's `<…>` tokens as people see them: @alice, #general, link labels; entities unescaped."""

    def token(m: re.Match[str]) -> str:
        body = m.group(1)
        target, _, label = body.partition("|")
        if target.startswith("@"):
            return "@" + users.get(target[1:], label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!subteam^"):
            return label or "@" + target[len("!subteam^") :]
        if target.startswith("!date^"):
            return label
        if target.startswith("!"):
            return "@" + target[1:]
        return label or target

    # A raw ">" opening a line is a quote (people's own ">" arrive escaped as &gt;).
    lines = [f"> {line[1:].lstrip()}" if line.startswith(">") else line for line in text.split("\n")]
    text = "\n".join(lines)
    return _TOKEN.sub(token, text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text(obj: Any, users: Mapping[str, str]) -> str:
    if not isinstance(obj, dict):
        return ""
    text = str(obj.get("text", ""))
    return mrkdwn(text, users) if obj.get("type") == "mrkdwn" else text


def _control(el: dict[str, Any], users: Mapping[str, str]) -> str:
    """An interactive element as a bracketed control: [ Generate ], [ Model ▾ ]."""
    kind = el.get("type", "")
    if kind == "button":
        return f"[ {_text(el.get('text'), users)} ]"
    if kind == "overflow":
        return "[ ⋯ ]"
    if kind.endswith("_select") or kind.endswith("select"):
        chosen = el.get("initial_option") or {}
        label = _text(chosen.get("text"), users) or _text(el.get("placeholder"), users) or kind
        return f"[ {label} ▾ ]"
    if kind in ("plain_text_input", "number_input", "url_text_input", "email_text_input"):
        value = el.get("initial_value") or _text(el.get("placeholder"), users)
        return f"[ {value} ]" if value else "[ ______ ]"
    if kind in ("checkboxes", "radio_buttons"):
        chosen = {o.get("value") for o in el.get("initial_options", [])} | {
            (el.get("initial_option") or {}).get("value")
        }
        marks = ("(•)", "( )") if kind == "radio_buttons" else ("[x]", "[ ]")
        return "  ".join(
            f"{marks[o.get('value') not in chosen]} {_text(o.get('text'), users)}"
            for o in el.get("options", [])
        )
    if kind == "image":
        return f"[image: {el.get('alt_text', '')}]"
    return f"[ {kind} ]"


def _rich_inline(el: dict[str, Any], users: Mapping[str, str]) -> str:
    kind = el.get("type")
    if kind == "text":
        return str(el.get("text", ""))
    if kind == "user":
        return "@" + users.get(el.get("user_id", ""), el.get("user_id", ""))
    if kind == "channel":
        return "#" + str(el.get("channel_id", ""))
    if kind == "link":
        return str(el.get("text") or el.get("url", ""))
    if kind == "emoji":
        if el.get("unicode"):
            return "".join(chr(int(code, 16)) for code in str(el["unicode"]).split("-"))
        return f":{el.get('name', '')}:"
    if kind == "broadcast":
        return "@" + str(el.get("range", ""))
    if kind == "usergroup":
        return "@" + str(el.get("usergroup_id", ""))
    if kind == "date":
        return str(el.get("fallback", ""))
    return ""


def _rich_text(block: dict[str, Any], users: Mapping[str, str]) -> list[str]:
    lines: list[str] = []
    for part in block.get("elements", []):
        inline = "".join(_rich_inline(e, users) for e in part.get("elements", []) if isinstance(e, dict))
        kind = part.get("type")
        if kind == "rich_text_section":
            lines += inline.split("\n")
        elif kind == "rich_text_preformatted":
            lines += ["```", *inline.split("\n"), "```"]
        elif kind == "rich_text_quote":
            lines += ["> " + line for line in inline.split("\n")]
        elif kind == "rich_text_list":
            pad = "  " * int(part.get("indent", 0))
            for n, item in enumerate(part.get("elements", []), start=1):
                text = "".join(_rich_inline(e, users) for e in item.get("elements", []))
                bullet = f"{n}." if part.get("style") == "ordered" else "•"
                lines.append(f"{pad}{bullet} {text}")
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def render_blocks(blocks: Iterable[dict[str, Any]], users: Mapping[str, str]) -> list[str]:
    """Block Kit as lines of text."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"# {_text(block.get('text'), users)}")
        elif kind == "section":
            text_lines = _text(block.get("text"), users).split("\n") if "text" in block else []
            text_lines += [_text(f, users) for f in block.get("fields", [])]
            if "accessory" in block:
                control = _control(block["accessory"], users)
                text_lines = [*text_lines[:-1], f"{text_lines[-1]} {control}"] if text_lines else [control]
            lines += text_lines
        elif kind == "context":
            parts = [
                f"[{e.get('alt_text', '')}]" if e.get("type") == "image" else _text(e, users)
                for e in block.get("elements", [])
            ]
            lines.append(" · ".join(p for p in parts if p))
        elif kind == "actions":
            lines.append(" ".join(_control(e, users) for e in block.get("elements", [])))
        elif kind == "image":
            title = _text(block.get("title"), users)
            lines.append(f"[image: {block.get('alt_text', '')}]" + (f" {title}" if title else ""))
        elif kind == "divider":
            lines.append(DIVIDER)
        elif kind == "rich_text":
            lines += _rich_text(block, users)
        elif kind == "markdown":
            lines += mrkdwn(str(block.get("text", "")), users).split("\n")
        elif kind == "input":
            lines.append(f"{_text(block.get('label'), users)}: {_control(block.get('element') or {}, users)}")
        elif kind == "video":
            lines.append(f"[video: {_text(block.get('title'), users)}]")
        else:
            lines.append(f"[{kind}]")
    return lines


def human_size(size: int) -> str:
    """Decimal units, one decimal place: 532 B, 12.3 KB, 1.2 MB."""
    if size < 1000:
        return f"{size} B"
    value = float(size)
    for unit in ("KB", "MB"):
        value /= 1000
        if round(value, 1) < 1000:
            return f"{value:.1f} {unit}"
    return f"{value / 1000:.1f} GB"


LONG = 60  # a piece of text at least this long is shown in full once per transcript (when shortening)
FIRST_WORDS = 8


def _once(lines: list[str], seen: list[str]) -> list[str]:
    """`lines` with each long piece already shown (or a "…"-cut start of one) as its first words + "…".

    A piece is a whole line or one of its " · "-separated parts; a quote's "> " is kept. `seen` collects
    the long pieces shown so far."""

    def piece(text: str) -> str:
        quote = "> " if text.startswith("> ") else ""
        body = text[len(quote) :]
        key = body.rstrip("…").rstrip()
        if len(key) < LONG:
            return text
        if any(shown.startswith(key) for shown in seen):
            words = body.split()
            return (
                quote + " ".join(words[:FIRST_WORDS]).rstrip(",.;:") + " …"
                if len(words) > FIRST_WORDS
                else text
            )
        seen.append(key)
        return text

    return [" · ".join(piece(part) for part in line.split(" · ")) for line in lines]


def _body(m: Message, users: Mapping[str, str], seen: list[str] | None = None) -> list[str]:
    lines = _full_body(m, users)
    return lines if seen is None else _once(lines, seen)


def _full_body(m: Message, users: Mapping[str, str]) -> list[str]:
    if m.deleted:
        return ["(message deleted)"]
    lines = (
        render_blocks(m.blocks, users) if m.blocks else (mrkdwn(m.text, users).split("\n") if m.text else [])
    )
    for i, f in enumerate(m.files):
        line = f"📎 {f.name} ({human_size(f.size)})"
        if i == 0 and m.text and not m.blocks:
            # The comment travels with the file: it starts on the file's line, the rest follows under it.
            first, *rest = mrkdwn(m.text, users).split("\n")
            lines = [f"{line} — {first}", *rest]
            continue
        lines.append(line)
    if m.reactions:
        lines.append("  ".join(f":{name}: {len(who)}" for name, who in m.reactions.items()))
    return lines or ["(empty)"]


def _author(m: Message, users: Mapping[str, str]) -> str:
    name = users.get(m.user or "", m.user or "?")
    return name if m.bot_id or m.user == "USLACKBOT" else f"@{name}"


def _render(
    m: Message, users: Mapping[str, str], prefix: str, note: str = "", seen: list[str] | None = None
) -> list[str]:
    stamp = time.strftime("%H:%M:%S", time.gmtime(float(m.ts)))
    marks = ""
    if m.edited and not m.deleted:
        marks += " (edited)"
    if m.streaming:
        marks += " (streaming…)"
    if m.ephemeral_to:
        marks += f" (only visible to @{users.get(m.ephemeral_to, m.ephemeral_to)})"
    body = _body(m, users, seen)
    head = f"{prefix}{stamp} {_author(m, users)}{marks}: {body[0]}{note}"
    pad = prefix + " " * (len(stamp) + 1)
    return [head, *(pad + line for line in body[1:])]


def format_transcript(
    messages: Iterable[Message], users: Mapping[str, str], *, shorten_repeats: bool = False
) -> str:
    """One line (or a few) per message, replies indented under their root, in ts order.

    `shorten_repeats` (what `make demo` prints): a long text (a prompt) is shown in full the first time
    only; later it is its first words and "…"."""
    seen: list[str] | None = [] if shorten_repeats else None
    msgs = sorted(messages, key=lambda m: float(m.ts))
    roots = {m.ts for m in msgs if not m.is_reply}
    replies: dict[str, list[Message]] = {}
    for m in msgs:
        if m.is_reply:
            replies.setdefault(m.thread_ts or "", []).append(m)
    lines: list[str] = []
    for m in msgs:
        if m.is_reply:
            if m.thread_ts in roots:
                continue
            # A reply whose root isn't in the list: show it where it falls, naming its thread.
            if not m.deleted:
                lines += _render(m, users, INDENT, f"  (in thread {m.thread_ts})", seen)
            continue
        visible_replies = [r for r in replies.get(m.ts, []) if not r.deleted]
        if m.deleted and not visible_replies:
            continue
        lines += _render(m, users, "", seen=seen)
        for r in visible_replies:
            lines += _render(r, users, INDENT, seen=seen)
    return "\n".join(lines)
