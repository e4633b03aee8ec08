"""The Web API methods the app calls, answering in Slack's shapes and with Slack's errors.

Each method takes the request's parameters (form or JSON, already merged) and returns the JSON body of
a successful answer, or raises ApiError. The server holds the workspace lock around each call.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from collections.abc import Callable
from typing import Any

from localslack import shapes
from localslack.workspace import Message, Responder, Status, UploadedFile, View, Workspace

# Fields slack_sdk sends as JSON strings in form bodies (and as real JSON in JSON bodies).
JSON_FIELDS = ("blocks", "attachments", "files", "view", "chunks", "metadata", "loading_messages")
VIEW_TITLE_LIMIT = 24
VIEW_STACK_LIMIT = 3
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL = 30 * 60


class ApiError(Exception):
    """`{"ok": false, "error": error, **extra}`."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def normalize(params: dict[str, Any]) -> dict[str, Any]:
    """Decodes the JSON-string fields of a form body so every method sees the same shapes."""
    out = dict(params)
    for key in JSON_FIELDS:
        value = out.get(key)
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            try:
                out[key] = json.loads(value)
            except json.JSONDecodeError:
                raise ApiError(f"invalid_{key}_format" if key == "blocks" else "invalid_arguments") from None
    return out


def _flag(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _ms(channel: str, ts: str) -> str:
    return "p" + ts.replace(".", "")


class WebApi:
    def __init__(
        self, ws: Workspace, *, echo: Callable[[dict[str, Any]], None], trigger_ttl: float, stream_ttl: float
    ) -> None:
        self.ws = ws
        self.echo = echo
        self.trigger_ttl = trigger_ttl
        self.stream_ttl = stream_ttl
        self.methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.delete": self.chat_delete,
            "chat.getPermalink": self.chat_get_permalink,
            "chat.startStream": self.chat_start_stream,
            "chat.appendStream": self.chat_append_stream,
            "chat.stopStream": self.chat_stop_stream,
            "conversations.info": self.conversations_info,
            "conversations.replies": self.conversations_replies,
            "conversations.history": self.conversations_history,
            "users.info": self.users_info,
            "files.getUploadURLExternal": self.files_get_upload_url,
            "files.completeUploadExternal": self.files_complete_upload,
            "files.info": self.files_info,
            "views.open": self.views_open,
            "views.push": self.views_push,
            "views.update": self.views_update,
            "views.publish": self.views_publish,
            "files.delete": self.files_delete,
            "reactions.add": self.reactions_add,
            "assistant.threads.setStatus": self.assistant_set_status,
        }

    def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        handler = self.methods.get(method)
        if handler is None:
            raise ApiError("unknown_method")
        return {"ok": True, **handler(normalize(params))}

    # ------------------------------------------------------------------------------------------- helpers

    def _channel(self, p: dict[str, Any], key: str = "channel") -> str:
        channel = str(p.get(key) or "")
        if channel.startswith(("U", "W")) and channel in self.ws.users:
            return self.ws.dm_channel(channel)  # posting to a user id lands in the bot's DM with them
        if not channel or not self.ws.knows_channel(channel):
            raise ApiError("channel_not_found")
        return channel

    def _message(self, channel: str, ts: Any) -> Message:
        m = self.ws.find_message(channel, str(ts or ""))
        if m is None or m.deleted or m.ephemeral_to:
            raise ApiError("message_not_found")
        return m

    def _content(self, p: dict[str, Any], *, allow_empty: bool = False) -> tuple[str, list[dict[str, Any]]]:
        text = str(p.get("text") or "")
        blocks = p.get("blocks")
        if isinstance(blocks, str) and not blocks.strip():
            blocks = None
        if blocks is not None:
            if isinstance(blocks, str):
                raise ApiError("invalid_blocks_format")
            problems = shapes.block_problems(blocks)
            if problems:
                raise ApiError("invalid_blocks", errors=problems, response_metadata={"messages": problems})
        if not allow_empty and not text and not blocks and not p.get("attachments"):
            raise ApiError("no_text")
        if len(text) > shapes.TEXT_LIMIT:
            raise ApiError("msg_too_long")
        return text, blocks or []

    def _thread_of(self, channel: str, thread_ts: Any) -> str | None:
        """Where a reply goes: the root's ts (a reply's ts is resolved to its root, as Slack does)."""
        if not thread_ts:
            return None
        root = self.ws.find_message(channel, str(thread_ts))
        if root is None:
            return str(thread_ts)  # Slack still posts, into a thread nobody can see the root of
        if root.is_reply:
            return root.thread_ts
        root.thread_ts = root.ts
        return root.ts

    def _bot_message(
        self, channel: str, text: str, blocks: list[dict[str, Any]], thread_ts: str | None, **kw: Any
    ) -> Message:
        m = Message(
            channel=channel,
            ts=self.ws.new_ts(),
            user=self.ws.bot_user_id,
            bot_id=self.ws.bot_id,
            text=text,
            blocks=blocks,
            thread_ts=thread_ts,
            **kw,
        )
        return self.ws.add_message(m)

    def _echo_message(self, m: Message) -> None:
        event = shapes.message_json(self.ws, m)
        event.update(channel=m.channel, event_ts=m.ts, channel_type=shapes.channel_type(m.channel))
        self.echo(event)

    def _echo_change(self, m: Message, previous: dict[str, Any]) -> None:
        now = self.ws.new_ts()
        self.echo(
            {
                "type": "message",
                "subtype": "message_changed",
                "hidden": True,
                "channel": m.channel,
                "channel_type": shapes.channel_type(m.channel),
                "ts": now,
                "event_ts": now,
                "message": shapes.message_json(self.ws, m),
                "previous_message": previous,
            }
        )

    # ------------------------------------------------------------------------------------------- auth, chat

    def auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        ws = self.ws
        return {
            "url": f"https://{ws.team_domain}.slack.com/",
            "team": "Local",
            "user": ws.bot_name,
            "team_id": ws.team_id,
            "user_id": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "is_enterprise_install": False,
        }

    def chat_post_message(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        text, blocks = self._content(p)
        thread_ts = self._thread_of(channel, p.get("thread_ts"))
        subtype = "thread_broadcast" if thread_ts and _flag(p.get("reply_broadcast")) else None
        m = self._bot_message(channel, text, blocks, thread_ts, subtype=subtype, metadata=p.get("metadata"))
        self._echo_message(m)
        return {"channel": channel, "ts": m.ts, "message": shapes.message_json(self.ws, m)}

    def chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        m = self._message(channel, p.get("ts"))
        if m.user != self.ws.bot_user_id:
            raise ApiError("cant_update_message")
        previous = shapes.message_json(self.ws, m)
        # Slack keeps what an update leaves out: omitted blocks stay, `blocks: []` removes them.
        text = str(p["text"]) if "text" in p and p["text"] is not None else m.text
        blocks = p.get("blocks", m.blocks)
        text, blocks = self._content({"text": text, "blocks": blocks, "attachments": p.get("attachments")})
        m.history.append((m.text, m.blocks))
        m.text, m.blocks = text, blocks
        m.edited += 1
        m.edited_ts = self.ws.new_ts()
        if "metadata" in p:
            m.metadata = p["metadata"]
        self._echo_change(m, previous)
        return {"channel": channel, "ts": m.ts, "text": m.text, "message": shapes.message_json(self.ws, m)}

    def chat_post_ephemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        user = str(p.get("user") or "")
        if not user:
            raise ApiError("user_not_found")
        text, blocks = self._content(p)
        thread_ts = self._thread_of(channel, p.get("thread_ts"))
        m = self._bot_message(channel, text, blocks, thread_ts, ephemeral_to=user)
        return {"message_ts": m.ts}

    def chat_delete(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        m = self._message(channel, p.get("ts"))
        if m.user != self.ws.bot_user_id:
            raise ApiError("cant_delete_message")
        m.deleted = True
        now = self.ws.new_ts()
        self.echo(
            {
                "type": "message",
                "subtype": "message_deleted",
                "hidden": True,
                "channel": channel,
                "channel_type": shapes.channel_type(channel),
                "ts": now,
                "event_ts": now,
                "deleted_ts": m.ts,
                "previous_message": shapes.message_json(self.ws, m),
            }
        )
        return {"channel": channel, "ts": m.ts}

    def chat_get_permalink(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        m = self._message(channel, p.get("message_ts"))
        link = f"{self.ws.base_url}archives/{channel}/{_ms(channel, m.ts)}"
        if m.is_reply:
            link += f"?thread_ts={m.thread_ts}&cid={channel}"
        return {"channel": channel, "permalink": link}

    # ------------------------------------------------------------------------------------------- streaming

    def _chunks_text(self, p: dict[str, Any]) -> str:
        text = str(p.get("markdown_text") or "")
        for chunk in p.get("chunks") or []:
            if not isinstance(chunk, dict):
                raise ApiError("invalid_chunks")
            if chunk.get("type") == "markdown_text":
                text += str(chunk.get("text", ""))
            elif chunk.get("type") == "task_update":
                text += f"\n• {chunk.get('title', '')} ({chunk.get('status', '')})"
            elif chunk.get("type") == "plan_update":
                text += f"\n{chunk.get('title', '')}"
        return text

    def _streaming(self, p: dict[str, Any]) -> Message:
        channel = self._channel(p)
        m = self._message(channel, p.get("ts"))
        if m.streaming and time.monotonic() - m.stream_started > self.stream_ttl:
            m.streaming = False  # Slack ends a stream on its own after about five minutes
        if not m.streaming:
            raise ApiError("message_not_in_streaming_state")
        return m

    def chat_start_stream(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        if not channel.startswith("D"):
            for key in ("recipient_user_id", "recipient_team_id"):
                if not p.get(key):
                    raise ApiError(f"missing_{key}")
        thread_ts = self._thread_of(channel, p.get("thread_ts"))
        m = self._bot_message(channel, self._chunks_text(p), [], thread_ts, streaming=True)
        m.stream_started = time.monotonic()
        self._echo_message(m)
        return {"channel": channel, "ts": m.ts}

    def chat_append_stream(self, p: dict[str, Any]) -> dict[str, Any]:
        m = self._streaming(p)
        m.text += self._chunks_text(p)
        return {"channel": m.channel, "ts": m.ts}

    def chat_stop_stream(self, p: dict[str, Any]) -> dict[str, Any]:
        m = self._streaming(p)
        m.text += self._chunks_text(p)
        m.streaming = False
        if p.get("blocks"):
            _, blocks = self._content({"blocks": p["blocks"]}, allow_empty=True)
            # The streamed text stays on top; the blocks are rendered under it.
            m.blocks = [{"type": "markdown", "text": m.text}, *blocks] if m.text else blocks
        if p.get("metadata") is not None:
            m.metadata = p["metadata"]
        return {"channel": m.channel, "ts": m.ts, "message": shapes.message_json(self.ws, m)}

    # ------------------------------------------------------------------------------------------- reading

    def conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"channel": shapes.channel_json(self.ws, self._channel(p))}

    def _page(self, messages: list[dict[str, Any]], p: dict[str, Any]) -> dict[str, Any]:
        start = int(p.get("cursor") or 0)
        limit = max(1, min(int(p.get("limit") or 1000), 1000))
        page = messages[start : start + limit]
        more = start + limit < len(messages)
        return {
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        root = self.ws.find_message(channel, str(p.get("ts") or ""))
        if root is None or root.ephemeral_to:
            raise ApiError("thread_not_found")
        if root.is_reply:
            root = self.ws.find_message(channel, root.thread_ts or "") or root
        replies = self.ws.replies_of(channel, root.ts)
        if root.deleted and not replies:
            raise ApiError("thread_not_found")
        first = shapes.message_json(self.ws, root)
        if root.deleted:
            first.update(subtype="tombstone", text="This message was deleted.", blocks=[], files=[])
        return self._page([first, *(shapes.message_json(self.ws, r) for r in replies)], p)

    def conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        visible = [
            m
            for m in self.ws.messages(channel, include_ephemeral=False)
            if not m.is_reply or m.subtype == "thread_broadcast"
        ]
        # Slack's window: `latest` / `oldest` bound it, each included only with `inclusive`.
        inclusive = _flag(p.get("inclusive"))
        if p.get("latest"):
            latest = float(p["latest"])
            visible = [m for m in visible if float(m.ts) < latest or (inclusive and float(m.ts) == latest)]
        if p.get("oldest"):
            oldest = float(p["oldest"])
            visible = [m for m in visible if float(m.ts) > oldest or (inclusive and float(m.ts) == oldest)]
        visible.sort(key=lambda m: float(m.ts), reverse=True)
        return self._page([shapes.message_json(self.ws, m) for m in visible], p)

    def users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = str(p.get("user") or "")
        if user not in self.ws.users:
            raise ApiError("user_not_found")
        return {"user": shapes.user_json(self.ws, user)}

    # ------------------------------------------------------------------------------------------- files

    def files_get_upload_url(self, p: dict[str, Any]) -> dict[str, Any]:
        filename = str(p.get("filename") or "")
        try:
            length = int(p.get("length"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ApiError("invalid_arguments") from None
        if not filename or length < 0:
            raise ApiError("invalid_arguments")
        f = UploadedFile(
            id=self.ws.new_id("F"),
            name=filename,
            title=filename,
            size=length,
            path=None,
            user=self.ws.bot_user_id,
            created=int(time.time()),
            alt_txt=p.get("alt_txt") or None,
        )
        self.ws.add_file(f)
        token = secrets.token_urlsafe(16)
        self.ws.uploads[token] = f.id
        return {"upload_url": f"{self.ws.base_url}upload/v1/{token}", "file_id": f.id}

    def files_complete_upload(self, p: dict[str, Any]) -> dict[str, Any]:
        items = p.get("files")
        if not isinstance(items, list) or not items:
            raise ApiError("invalid_arguments")
        files: list[UploadedFile] = []
        for item in items:
            f = self.ws.find_file(str(item.get("id") if isinstance(item, dict) else ""))
            if f is None or f.path is None:
                raise ApiError("file_not_found")
            if item.get("title"):
                f.title = str(item["title"])
            files.append(f)
        channel_param = p.get("channel_id") or str(p.get("channels") or "").split(",")[0]
        out = [shapes.file_json(self.ws, f) for f in files]
        if channel_param:
            channel = self._channel({"channel": channel_param})
            thread_ts = self._thread_of(channel, p.get("thread_ts"))
            comment = str(p.get("initial_comment") or "")
            blocks = [] if comment else (p.get("blocks") or [])
            m = self._bot_message(channel, comment, blocks, thread_ts, subtype="file_share", files=files)
            for f in files:
                f.channel, f.thread_ts, f.message_ts, f.initial_comment = (
                    channel,
                    thread_ts,
                    m.ts,
                    comment or None,
                )
            self._echo_message(m)
        # Slack shares files asynchronously: the answer's `shares` is empty; files.info shows them later.
        for o in out:
            o["shares"] = {}
        return {"files": out}

    def files_info(self, p: dict[str, Any]) -> dict[str, Any]:
        f = self.ws.find_file(str(p.get("file") or ""))
        if f is None or f.path is None:
            raise ApiError("file_not_found")
        return {
            "file": shapes.file_json(self.ws, f),
            "comments": [],
            "response_metadata": {"next_cursor": ""},
        }

    def files_delete(self, p: dict[str, Any]) -> dict[str, Any]:
        """A bot may delete only the files it uploaded (`cant_delete_file` otherwise); the file leaves
        the messages that shared it."""
        f = self.ws.find_file(str(p.get("file") or ""))
        if f is None:
            raise ApiError("file_not_found")
        if f.user != self.ws.bot_user_id:
            raise ApiError("cant_delete_file")
        self.ws.delete_file(f.id)
        return {}

    # ------------------------------------------------------------------------------------------- views

    def _trigger_user(self, p: dict[str, Any]) -> str:
        trigger = self.ws.triggers.get(str(p.get("trigger_id") or ""))
        if trigger is None:
            raise ApiError("invalid_trigger_id")
        user, issued = trigger
        if time.monotonic() - issued > self.trigger_ttl:
            raise ApiError("expired_trigger_id")  # Slack gives the app 3 seconds to open a modal
        return user

    def _checked_view(self, view: Any) -> dict[str, Any]:
        if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
            raise ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] invalid view type"]})
        problems: list[str] = []
        for key in ("title", "submit", "close"):
            text = (view.get(key) or {}).get("text", "")
            if key in view and not 0 < len(text) <= VIEW_TITLE_LIMIT:
                problems.append(
                    f"[ERROR] must be 1-{VIEW_TITLE_LIMIT} characters [json-pointer:/view/{key}/text]"
                )
        if len(view.get("private_metadata", "")) > 3000:
            problems.append("[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]")
        if len(view.get("callback_id", "")) > 255:
            problems.append("[ERROR] must be less than 256 characters [json-pointer:/view/callback_id]")
        problems += shapes.block_problems(
            view.get("blocks", []), limit=shapes.VIEW_BLOCK_LIMIT, root="/view/blocks"
        )
        if problems:
            raise ApiError("invalid_arguments", response_metadata={"messages": problems})
        return view

    def view_json(self, v: View, values: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "id": v.id,
            "team_id": self.ws.team_id,
            "type": v.view.get("type", "modal"),
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            **v.view,
            "state": {"values": values or {}},
            "hash": v.hash,
            "clear_on_close": bool(v.view.get("clear_on_close", False)),
            "notify_on_close": bool(v.view.get("notify_on_close", False)),
            "root_view_id": v.root_view_id,
            "previous_view_id": v.previous_view_id,
            "app_id": self.ws.app_id,
            "external_id": v.external_id or "",
            "app_installed_team_id": self.ws.team_id,
            "bot_id": self.ws.bot_id,
        }

    def new_view(self, view: dict[str, Any], user: str, previous: View | None = None) -> View:
        view_id = self.ws.new_id("V")
        v = View(
            id=view_id,
            view=self._checked_view(view),
            user=user,
            hash=secrets.token_hex(8),
            root_view_id=previous.root_view_id if previous else view_id,
            previous_view_id=previous.id if previous else None,
            external_id=view.get("external_id") or None,
        )
        self.ws.add_view(v)
        return v

    def views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self._trigger_user(p)
        return {"view": self.view_json(self.new_view(p.get("view"), user))}  # type: ignore[arg-type]

    def views_push(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self._trigger_user(p)
        stack = [v for v in self.ws.views if v.open and v.user == user]
        if not stack:
            raise ApiError("not_found")
        top = self.ws.find_view(stack[-1].id)
        if len([v for v in stack if v.root_view_id == stack[-1].root_view_id]) >= VIEW_STACK_LIMIT:
            raise ApiError("push_limit_reached")
        return {"view": self.view_json(self.new_view(p.get("view"), user, previous=top))}  # type: ignore[arg-type]

    def views_update(self, p: dict[str, Any]) -> dict[str, Any]:
        v = self.ws.find_view(p.get("view_id") or None, external_id=p.get("external_id") or None)
        if v is None or not v.open:
            raise ApiError("not_found")
        if p.get("hash") and p["hash"] != v.hash:
            raise ApiError("hash_conflict")
        self.replace_view(v, p.get("view"))
        return {"view": self.view_json(v)}

    def views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        """A person's Home tab: a view of type home (≤ 100 blocks), whose images may show only the
        bot's own picture files. Published again, it replaces the last one (same view id)."""
        user = str(p.get("user_id") or "")
        if user not in self.ws.users:
            raise ApiError("user_not_found")
        view = p.get("view")
        if not isinstance(view, dict) or view.get("type") != "home":
            raise ApiError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] must be a home view"]}
            )
        problems = self._slack_file_problems(view.get("blocks") or [])
        if problems:
            raise ApiError("invalid_arguments", response_metadata={"messages": problems})
        home = self.ws.home_of(user)
        if home is None:
            view_id = self.ws.new_id("V")
            checked = self._checked_view(view)
            home = View(id=view_id, view=checked, user=user, hash=secrets.token_hex(8), root_view_id=view_id)
            self.ws.set_home(user, home)
        else:
            if p.get("hash") and p["hash"] != home.hash:
                raise ApiError("hash_conflict")
            self.replace_view(home, view)
        return {"view": self.view_json(home)}

    def _slack_file_problems(self, blocks: list[Any]) -> list[str]:
        """Image blocks' `slack_file`: a png, jpg or gif Slack has, that the bot can see (its own)."""
        problems = []
        for i, block in enumerate(blocks):
            chosen = (
                block.get("slack_file") if isinstance(block, dict) and block.get("type") == "image" else None
            )
            if chosen is None:
                continue
            pointer = f"[json-pointer:/view/blocks/{i}/slack_file]"
            f = self.ws.find_file(str(chosen.get("id") or "")) if isinstance(chosen, dict) else None
            if f is None or f.path is None:
                problems.append(f"[ERROR] invalid slack file {pointer}")
            elif f.filetype not in ("png", "jpg", "gif"):
                problems.append(f"[ERROR] slack file must be an image {pointer}")
        return problems

    def replace_view(self, v: View, view: Any) -> None:
        checked = self._checked_view(view)
        v.history.append(v.view)
        v.view, v.hash, v.errors = checked, secrets.token_hex(8), None
        v.external_id = checked.get("external_id") or v.external_id

    # ------------------------------------------------------------------------------------------- the rest

    def reactions_add(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        name = str(p.get("name") or "").strip(":")
        if not name:
            raise ApiError("invalid_name")
        m = self._message(channel, p.get("timestamp"))
        who = m.reactions.setdefault(name, [])
        if self.ws.bot_user_id in who:
            raise ApiError("already_reacted")
        who.append(self.ws.bot_user_id)
        return {}

    def assistant_set_status(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p, "channel_id")
        if not p.get("thread_ts") or "status" not in p:
            raise ApiError("invalid_arguments")
        loading = p.get("loading_messages")
        if isinstance(loading, list) and len(loading) > 10:  # Slack's documented maximum
            raise ApiError("invalid_arguments")
        if self.ws.find_message(channel, str(p["thread_ts"])) is None:
            raise ApiError("invalid_thread_ts")
        status = Status(channel, str(p["thread_ts"]), str(p["status"] or ""), loading, time.time())
        self.ws.record_status(status)
        return {}

    # ------------------------------------------------------------------------------------------- response_url

    def respond(self, responder_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """A POST to a response_url: a new message (ephemeral by default), or the original edited/deleted."""
        r: Responder | None = self.ws.responders.get(responder_id)
        if r is None:
            raise ApiError("no_service")
        if time.monotonic() - r.created > RESPONSE_URL_TTL:
            raise ApiError("expired_url")
        if r.uses >= RESPONSE_URL_USES:
            raise ApiError("used_url")
        r.uses += 1
        body = normalize(body)
        original = self.ws.find_message(*r.original) if r.original else None
        if _flag(body.get("delete_original")):
            if original is None or original.deleted:
                raise ApiError("message_not_found")
            original.deleted = True
            return {}
        text, blocks = self._content(body)
        if _flag(body.get("replace_original")) and original is not None and not original.deleted:
            previous = shapes.message_json(self.ws, original)
            original.history.append((original.text, original.blocks))
            original.text, original.blocks = text, blocks
            original.edited += 1
            original.edited_ts = self.ws.new_ts()
            if not original.ephemeral_to:
                self._echo_change(original, previous)
            return {}
        in_channel = body.get("response_type") == "in_channel"
        thread_ts = self._thread_of(r.channel, body.get("thread_ts") or r.thread_ts)
        m = self._bot_message(r.channel, text, blocks, thread_ts, ephemeral_to=None if in_channel else r.user)
        r.original = (m.channel, m.ts)  # a later replace_original acts on what this URL posted last
        if in_channel:
            self._echo_message(m)
        return {}


def retry_after_seconds(window: list[float], per_seconds: float, now: float) -> int:
    """Whole seconds until the oldest call in a full rate-limit window leaves it (at least 1)."""
    return max(1, math.ceil(window[0] + per_seconds - now))
