"""Slack's JSON shapes (messages, files, users, channels) and the Block Kit checks Slack makes.

The checks are the subset of Slack's validation that catches real mistakes (too many blocks, texts over
their limits, duplicate block ids, empty texts); Slack answers `invalid_blocks` with one
`[ERROR] ... [json-pointer:...]` line per problem, and so do we.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localslack.workspace import Message, UploadedFile, Workspace

MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
TEXT_LIMIT = 40_000

# Block types Slack accepts in messages and views (an unknown type is rejected as invalid_blocks).
KNOWN_BLOCKS = {
    "actions", "context", "context_actions", "divider", "file", "header", "image", "input", "markdown",
    "rich_text", "section", "video", "table", "call", "plan", "task_card",
}  # fmt: skip
_ELEMENT_LIMITS = {"actions": 25, "context": 10}


def _text_problems(obj: Any, pointer: str, limit: int, *, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        return [f"[ERROR] must provide a text object [json-pointer:{pointer}]"]
    if plain_only and obj["type"] != "plain_text":
        return [f"[ERROR] must be a plain_text object [json-pointer:{pointer}/type]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"[ERROR] must be more than 0 characters [json-pointer:{pointer}/text]"]
    if len(text) > limit:
        return [f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}/text]"]
    return []


def _element_problems(el: Any, pointer: str, seen_actions: set[str]) -> list[str]:
    if not isinstance(el, dict) or not isinstance(el.get("type"), str):
        return [f"[ERROR] must be an element object [json-pointer:{pointer}]"]
    problems: list[str] = []
    action_id = el.get("action_id")
    if action_id is not None:
        if not isinstance(action_id, str) or not 0 < len(action_id) <= 255:
            problems.append(f"[ERROR] must be 1-255 characters [json-pointer:{pointer}/action_id]")
        elif action_id in seen_actions:
            problems.append(
                f"[ERROR] action_id must be unique in the block [json-pointer:{pointer}/action_id]"
            )
        else:
            seen_actions.add(action_id)
    if isinstance(el.get("confirm"), dict):
        problems += _confirm_problems(el["confirm"], f"{pointer}/confirm")
    if el["type"] == "static_select":
        problems += _select_problems(el, pointer)
    if el["type"] == "button":
        problems += _text_problems(el.get("text"), f"{pointer}/text", 75, plain_only=True)
        if len(str(el.get("value", ""))) > 2000:
            problems.append(f"[ERROR] must be less than 2001 characters [json-pointer:{pointer}/value]")
        if el.get("style") not in (None, "primary", "danger"):
            problems.append(f"[ERROR] must be primary or danger [json-pointer:{pointer}/style]")
    return problems


def _confirm_problems(confirm: dict[str, Any], pointer: str) -> list[str]:
    """A confirmation dialog: title ≤ 100, text ≤ 300, buttons ≤ 30 characters, all plain text."""
    problems: list[str] = []
    for key, limit in (("title", 100), ("text", 300), ("confirm", 30), ("deny", 30)):
        problems += _text_problems(confirm.get(key), f"{pointer}/{key}", limit, plain_only=True)
    if confirm.get("style") not in (None, "primary", "danger"):
        problems.append(f"[ERROR] must be primary or danger [json-pointer:{pointer}/style]")
    return problems


def _select_problems(el: dict[str, Any], pointer: str) -> list[str]:
    """A static select: 1-100 options (text ≤ 75, value ≤ 150), its initial option one of them."""
    options = el.get("options")
    if "option_groups" in el:
        return []
    if not isinstance(options, list) or not 0 < len(options) <= 100:
        return [f"[ERROR] must have 1-100 options [json-pointer:{pointer}/options]"]
    problems: list[str] = []
    for i, option in enumerate(options):
        if not isinstance(option, dict):
            problems.append(f"[ERROR] must be an option object [json-pointer:{pointer}/options/{i}]")
            continue
        problems += _text_problems(option.get("text"), f"{pointer}/options/{i}/text", 75, plain_only=True)
        if not isinstance(option.get("value"), str) or not 0 < len(option["value"]) <= 150:
            problems.append(f"[ERROR] must be 1-150 characters [json-pointer:{pointer}/options/{i}/value]")
    if "initial_option" in el and el["initial_option"] not in options:
        problems.append(f"[ERROR] must match one of the options [json-pointer:{pointer}/initial_option]")
    return problems


def _block_problems(block: Any, pointer: str) -> list[str]:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return [f"[ERROR] must be a block object [json-pointer:{pointer}]"]
    kind = block["type"]
    if kind not in KNOWN_BLOCKS:
        return [f"[ERROR] unknown block type {kind!r} [json-pointer:{pointer}/type]"]
    problems: list[str] = []
    seen: set[str] = set()
    if kind == "section":
        if "text" in block:
            problems += _text_problems(block["text"], f"{pointer}/text", 3000)
        fields = block.get("fields")
        if "text" not in block and not fields:
            problems.append(f"[ERROR] must provide text or fields [json-pointer:{pointer}]")
        if fields is not None:
            if not isinstance(fields, list) or len(fields) > 10:
                problems.append(f"[ERROR] must be at most 10 fields [json-pointer:{pointer}/fields]")
            else:
                for i, f in enumerate(fields):
                    problems += _text_problems(f, f"{pointer}/fields/{i}", 2000)
        if "accessory" in block:
            problems += _element_problems(block["accessory"], f"{pointer}/accessory", seen)
    elif kind == "header":
        problems += _text_problems(block.get("text"), f"{pointer}/text", 150, plain_only=True)
    elif kind in _ELEMENT_LIMITS:
        elements = block.get("elements")
        limit = _ELEMENT_LIMITS[kind]
        if not isinstance(elements, list) or not 0 < len(elements) <= limit:
            problems.append(f"[ERROR] must have 1-{limit} elements [json-pointer:{pointer}/elements]")
        else:
            for i, el in enumerate(elements):
                if kind == "context" and isinstance(el, dict) and el.get("type") in ("plain_text", "mrkdwn"):
                    problems += _text_problems(el, f"{pointer}/elements/{i}", 3000)
                elif kind == "actions":
                    problems += _element_problems(el, f"{pointer}/elements/{i}", seen)
    elif kind == "image":
        if not block.get("image_url") and not block.get("slack_file"):
            problems.append(f"[ERROR] must provide image_url or slack_file [json-pointer:{pointer}]")
        if not isinstance(block.get("alt_text"), str) or not block["alt_text"]:
            problems.append(f"[ERROR] must provide alt_text [json-pointer:{pointer}/alt_text]")
    elif kind == "input":
        problems += _text_problems(block.get("label"), f"{pointer}/label", 2000, plain_only=True)
        problems += _element_problems(block.get("element"), f"{pointer}/element", seen)
    elif kind == "markdown":
        text = block.get("text")
        if not isinstance(text, str) or not 0 < len(text) <= 12_000:
            problems.append(f"[ERROR] must be 1-12000 characters [json-pointer:{pointer}/text]")
    return problems


def block_problems(blocks: Any, *, limit: int = MESSAGE_BLOCK_LIMIT, root: str = "/blocks") -> list[str]:
    """Slack-style error lines for a list of blocks; empty when Slack would accept it."""
    if not isinstance(blocks, list):
        return [f"[ERROR] must be an array [json-pointer:{root}]"]
    if len(blocks) > limit:
        return [f"[ERROR] no more than {limit} items allowed [json-pointer:{root}]"]
    problems: list[str] = []
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        problems += _block_problems(block, f"{root}/{i}")
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if block_id is not None:
            if not isinstance(block_id, str) or not 0 < len(block_id) <= 255:
                problems.append(f"[ERROR] must be 1-255 characters [json-pointer:{root}/{i}/block_id]")
            elif block_id in block_ids:
                problems.append(f"[ERROR] block_id must be unique [json-pointer:{root}/{i}/block_id]")
            block_ids.add(block_id)
    return problems


# ---------------------------------------------------------------------------------------------------- shapes

# What a person's client sends for what they picked or pasted (a mention, a channel, a broadcast, a link),
# written in Slack's own token syntax by whoever scripts the person; everything else they type is text.
_TYPED_TOKEN = re.compile(
    r"<(?P<body>(?:@[UW][A-Z0-9]+|#[CG][A-Z0-9]+|!(?:here|channel|everyone)|!subteam\^[A-Z0-9]+"
    r"|!date\^[^|<>]*|(?:https?|mailto):[^|<>\s]+)(?:\|[^<>]*)?)>"
    r"|(?P<url>https?://[^\s<>]+)"
)


def escape(text: str) -> str:
    """Slack's three control characters as Slack writes them in text (`&amp;`, `&lt;`, `&gt;`)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def typed_message_text(typed: str) -> str:
    """A message's `text` as Slack delivers what a person typed: `&`, `<`, `>` escaped; the tokens of
    mentions, channels, broadcasts and links kept (their labels escaped); a pasted address made a link
    (`<https://…>`), as Slack's clients do."""
    out: list[str] = []
    position = 0
    for m in _TYPED_TOKEN.finditer(typed):
        out.append(escape(typed[position : m.start()]))
        if m.group("url"):
            url = m.group("url").rstrip(".,;:!?)")  # a sentence's full stop isn't part of the address
            out.append(f"<{url}>{escape(m.group('url')[len(url) :])}")
        else:
            target, bar, label = m.group("body").partition("|")
            out.append(f"<{target}{bar}{escape(label)}>")
        position = m.end()
    out.append(escape(typed[position:]))
    return "".join(out)


def typed_command_text(typed: str, users: dict[str, str], channels: dict[str, str]) -> str:
    """A slash command's `text` as Slack sends it with `should_escape: false` (our manifest): mentions,
    channels and links as the plain words they show as (`@alice`, `#general`, the address), and `&`, `<`,
    `>` escaped all the same."""

    def plain(m: re.Match[str]) -> str:
        if m.group("url"):
            return m.group("url")
        target, _, label = m.group("body").partition("|")
        if target.startswith("@"):
            return "@" + (label or users.get(target[1:], target[1:]))
        if target.startswith("#"):
            return "#" + (label or channels.get(target[1:], target[1:]))
        if target.startswith("!") and not target.startswith(("!subteam^", "!date^")):
            return "@" + target[1:]
        return label or target

    return escape(_TYPED_TOKEN.sub(plain, typed))


def person_rich_text(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack's clients attach to a typed message: the text unescaped, its tokens as
    user, channel, broadcast and link elements."""
    elements: list[dict[str, Any]] = []
    pos = 0
    for m in re.finditer(r"<([^<>]*)>", text):
        if m.start() > pos:
            elements.append({"type": "text", "text": unescape(text[pos : m.start()])})
        target, _, label = m.group(1).partition("|")
        if target.startswith("@"):
            elements.append({"type": "user", "user_id": target[1:]})
        elif target.startswith("#"):
            elements.append({"type": "channel", "channel_id": target[1:]})
        elif target.startswith("!subteam^"):
            elements.append({"type": "usergroup", "usergroup_id": target[len("!subteam^") :]})
        elif target.startswith("!date^"):
            elements.append({"type": "text", "text": unescape(label)})
        elif target.startswith("!"):
            elements.append({"type": "broadcast", "range": target[1:]})
        else:
            link: dict[str, Any] = {"type": "link", "url": target}
            if label:
                link["text"] = unescape(label)
            elements.append(link)
        pos = m.end()
    if pos < len(text):
        elements.append({"type": "text", "text": unescape(text[pos:])})
    return [
        {
            "type": "rich_text",
            "block_id": "typed",
            "elements": [{"type": "rich_text_section", "elements": elements}],
        }
    ]


def file_json(ws: Workspace, f: UploadedFile) -> dict[str, Any]:
    """A file object as files.info / completeUploadExternal / message events carry it."""
    base = f"{ws.base_url}files-pri/{ws.team_id}-{f.id}/"
    shares: dict[str, Any] = {}
    if f.channel and f.message_ts:
        share = {"ts": f.message_ts, "channel_name": ws.channel_name(f.channel), "team_id": ws.team_id}
        if f.thread_ts:
            share["thread_ts"] = f.thread_ts
        shares["private" if f.channel.startswith(("D", "G")) else "public"] = {f.channel: [share]}
    out: dict[str, Any] = {
        "id": f.id,
        "created": f.created,
        "timestamp": f.created,
        "name": f.name,
        "title": f.title,
        "mimetype": f.mimetype,
        "filetype": f.filetype,
        "pretty_type": f.filetype.upper(),
        "user": f.user,
        "user_team": ws.team_id,
        "editable": False,
        "size": f.size,
        "mode": "hosted",
        "is_external": False,
        "external_type": "",
        "is_public": bool(f.channel and f.channel.startswith("C")),
        "public_url_shared": False,
        "display_as_bot": False,
        "username": "",
        "url_private": base + f.name,
        "url_private_download": base + "download/" + f.name,
        "media_display_type": "video" if f.mimetype.startswith("video/") else "unknown",
        "permalink": f"{ws.base_url}files/{ws.team_id}/{f.id}/{f.name}",
        "permalink_public": f"{ws.base_url}{ws.team_id}-{f.id}-public",
        "channels": [f.channel] if f.channel and f.channel.startswith("C") else [],
        "groups": [f.channel] if f.channel and f.channel.startswith("G") else [],
        "ims": [f.channel] if f.channel and f.channel.startswith("D") else [],
        "shares": shares,
        "comments_count": 0,
        "has_rich_preview": False,
        "file_access": "visible",
    }
    if f.alt_txt:
        out["alt_txt"] = f.alt_txt
    if f.original_w and f.original_h:
        out["original_w"], out["original_h"] = f.original_w, f.original_h
    return out


def message_json(ws: Workspace, m: Message) -> dict[str, Any]:
    """A message as conversations.replies, chat.postMessage's `message` and interactivity payloads show it."""
    out: dict[str, Any] = {"type": "message", "user": m.user, "text": m.text, "ts": m.ts, "team": ws.team_id}
    if m.subtype:
        out["subtype"] = m.subtype
    if m.bot_id:
        out["bot_id"] = m.bot_id
        out["app_id"] = ws.app_id
        out["bot_profile"] = {
            "id": m.bot_id,
            "app_id": ws.app_id,
            "name": ws.bot_name,
            "team_id": ws.team_id,
            "deleted": False,
        }
    if m.blocks:
        out["blocks"] = m.blocks
    elif not m.bot_id and m.user and m.text:
        out["blocks"] = person_rich_text(m.text)
    if m.files:
        out["files"] = [file_json(ws, f) for f in m.files]
        out["upload"] = not m.bot_id
        out["display_as_bot"] = False
    if m.thread_ts:
        out["thread_ts"] = m.thread_ts
        if m.thread_ts != m.ts:
            root = ws.find_message(m.channel, m.thread_ts)
            if root is not None:
                out["parent_user_id"] = root.user
        else:
            replies = ws.replies_of(m.channel, m.ts)
            out["reply_count"] = len(replies)
            out["reply_users"] = sorted({r.user for r in replies if r.user})
            out["latest_reply"] = replies[-1].ts if replies else m.ts
    if m.edited:
        out["edited"] = {"user": m.user, "ts": m.edited_ts}
    if m.reactions:
        out["reactions"] = [{"name": n, "users": list(u), "count": len(u)} for n, u in m.reactions.items()]
    if m.metadata is not None:
        out["metadata"] = m.metadata
    return out


def user_json(ws: Workspace, user_id: str) -> dict[str, Any]:
    name = ws.display_name(user_id)
    is_bot = user_id == ws.bot_user_id
    return {
        "id": user_id,
        "team_id": ws.team_id,
        "name": name.lower().replace(" ", "."),
        "deleted": False,
        "real_name": name,
        "tz": "Etc/UTC",
        "tz_label": "Coordinated Universal Time",
        "tz_offset": 0,
        "profile": {
            "display_name": name,
            "real_name": name,
            "image_72": f"{ws.base_url}avatars/{user_id}.png",
            "team": ws.team_id,
            **({"bot_id": ws.bot_id, "api_app_id": ws.app_id} if is_bot else {}),
        },
        "is_admin": False,
        "is_owner": False,
        "is_bot": is_bot,
        "is_app_user": False,
        "updated": 1_700_000_000,
    }


def channel_json(ws: Workspace, channel_id: str) -> dict[str, Any]:
    is_im = channel_id.startswith("D")
    out: dict[str, Any] = {
        "id": channel_id,
        "created": 1_700_000_000,
        "is_archived": False,
        "is_member": True,
        "is_im": is_im,
        "is_channel": channel_id.startswith("C"),
        "is_group": channel_id.startswith("G"),
        "is_private": not channel_id.startswith("C"),
        "is_mpim": False,
        "context_team_id": ws.team_id,
    }
    if is_im:
        out["user"] = ws.dm_user(channel_id)
    else:
        out["name"] = ws.channel_name(channel_id)
        out["name_normalized"] = out["name"]
    return out


def channel_type(channel_id: str) -> str:
    """The `channel_type` of a message event."""
    return {"D": "im", "G": "group"}.get(channel_id[:1], "channel")


# ---------------------------------------------------------------------------------------------------- images


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF, JPEG or WebP, read from its header; None for anything else."""
    with path.open("rb") as fh:
        head = fh.read(64 * 1024)
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        w, h = struct.unpack(">II", head[16:24])
        return w, h
    if head[:6] in (b"GIF87a", b"GIF89a"):
        w, h = struct.unpack("<HH", head[6:10])
        return w, h
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return _webp_size(head)
    if head.startswith(b"\xff\xd8"):
        return _jpeg_size(head)
    return None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8X":
        w = int.from_bytes(head[24:27], "little") + 1
        h = int.from_bytes(head[27:30], "little") + 1
        return w, h
    if chunk == b"VP8 ":
        w, h = struct.unpack("<HH", head[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _jpeg_size(head: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(head):
        if head[i] != 0xFF:
            return None
        marker = head[i + 1]
        length = struct.unpack(">H", head[i + 2 : i + 4])[0]
        # SOF0..SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", head[i + 5 : i + 9])
            return w, h
        i += 2 + length
    return None
