"""The side that acts as Slack (and the people in it) towards the app: signed HTTP requests to its URL.

Bodies and headers are the ones Slack sends: form-encoded slash commands, `payload=<json>` for
interactivity, JSON for the Events API, each signed with the signing secret. What the app answers is
turned into what people would see (an ack's text becomes an ephemeral message, a slow ack becomes
Slack's "operation_timeout" notice, a view submission's errors show on the modal).
"""

from __future__ import annotations

import json
import mimetypes
import queue
import secrets
import shutil
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from localslack import elements, shapes
from localslack.webapi import ApiError, WebApi
from localslack.workspace import SLACKBOT, Message, Responder, UploadedFile, View, Workspace

# Something the stand-in can hand a signed request to instead of a URL, e.g. a wrapper around Bolt's
# `app.dispatch(BoltRequest(body=..., headers=...))`: (body, headers) -> (status, headers, body).
AppTransport = Callable[[bytes, dict[str, str]], tuple[int, Mapping[str, str], bytes | str]]
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
_IMAGE_FILETYPES = {"jpeg": "jpg"}


@dataclass(frozen=True)
class AppResponse:
    """What the app answered to one request from Slack."""

    status: int  # 0 when the app could not be reached
    headers: dict[str, str]
    body: bytes
    json: Any  # the body parsed, when it was JSON
    kind: str = ""  # slash_command, block_actions, view_submission, event_callback, ...
    payload: dict[str, Any] = field(default_factory=dict)  # what was sent
    elapsed: float = 0.0
    request_body: bytes = b""
    content_type: str = ""
    request_headers: dict[str, str] = field(default_factory=dict)  # as sent, signature included

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class People:
    """Slack's requests to the app. Mixed into SlackStandIn, which provides the workspace and the API."""

    workspace: Workspace
    api: WebApi

    def __init__(self, *, signing_secret: str, ack_timeout: float, echo_bot_messages: bool) -> None:
        self.signing_secret = signing_secret
        self.verification_token = "local-verification-token"  # noqa: S105 (the legacy `token` field, not a secret)
        self.ack_timeout = ack_timeout  # Slack shows an error when the app takes longer than this to ack
        self.echo_bot_messages = echo_bot_messages
        self._signer = SignatureVerifier(signing_secret)
        self._target: str | AppTransport | None = None
        self._echoes: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._echo_thread: threading.Thread | None = None
        self.last_response: AppResponse | None = None

    def connect_app(self, target: str | AppTransport) -> None:
        """Where Slack sends requests: the app's request URL, or a callable standing in for HTTP."""
        self._target = target

    # ------------------------------------------------------------------------------------------- transport

    def signed_post(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | str | None = None,
        signature: str | None = None,
        headers: Mapping[str, str] | None = None,
        kind: str = "raw",
        payload: dict[str, Any] | None = None,
    ) -> AppResponse:
        """POSTs `body` to the app, signed as Slack signs (or with a given timestamp/signature: forgery)."""
        if self._target is None:
            raise RuntimeError("call connect_app(request_url) before sending requests to the app")
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sent = {
            "Content-Type": content_type,
            "User-Agent": USER_AGENT,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature or self._signer.generate_signature(timestamp=ts, body=body) or "",
            **(headers or {}),
        }
        started = time.monotonic()
        status, resp_headers, resp_body = self._send(body, sent)
        try:
            parsed = json.loads(resp_body) if resp_body.strip() else None
        except ValueError:
            parsed = None
        response = AppResponse(
            status=status,
            headers=resp_headers,
            body=resp_body,
            json=parsed,
            kind=kind,
            payload=payload or {},
            elapsed=time.monotonic() - started,
            request_body=body,
            content_type=content_type,
            request_headers=sent,
        )
        self.workspace.record_delivery(response)
        self.last_response = response
        return response

    def _send(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        target = self._target
        if callable(target):
            status, resp_headers, resp_body = target(body, dict(headers))
            raw = resp_body.encode() if isinstance(resp_body, str) else resp_body
            return status, dict(resp_headers), raw
        assert isinstance(target, str)
        request = urllib.request.Request(target, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310 (the app's URL, http)
                return resp.status, dict(resp.headers.items()), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers.items()), exc.read()
        except (urllib.error.URLError, OSError) as exc:
            return 0, {}, str(exc).encode()

    def retry(
        self, response: AppResponse, *, retry_num: int = 1, retry_reason: str = "http_timeout"
    ) -> AppResponse:
        """Sends the same request again, freshly signed, as Slack's retries of an event do."""
        headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return self.signed_post(
            response.request_body,
            response.content_type,
            headers=headers,
            kind=response.kind,
            payload=response.payload,
        )

    def replay(self, response: AppResponse, *, headers: Mapping[str, str] | None = None) -> AppResponse:
        """Sends the very same request again (body, timestamp and signature), as someone who saw it
        could, with any `headers` added (headers aren't signed)."""
        sent = response.request_headers
        return self.signed_post(
            response.request_body,
            response.content_type,
            timestamp=sent["X-Slack-Request-Timestamp"],
            signature=sent["X-Slack-Signature"],
            headers=headers,
            kind=response.kind,
            payload=response.payload,
        )

    # ------------------------------------------------------------------------------------------- helpers

    def _person(self, user: str) -> dict[str, str]:
        self.workspace.users.setdefault(user, user)
        name = self.workspace.display_name(user)
        return {"id": user, "username": name, "name": name, "team_id": self.workspace.team_id}

    def _trigger(self, user: str) -> str:
        trigger_id = f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        with self.workspace.lock:
            self.workspace.triggers[trigger_id] = (user, time.monotonic())
        return trigger_id

    def _responder(
        self, channel: str, user: str, thread_ts: str | None, original: tuple[str, str] | None
    ) -> tuple[str, str]:
        rid = secrets.token_hex(12)
        with self.workspace.lock:
            self.workspace.responders[rid] = Responder(
                rid, channel, user, thread_ts, original, time.monotonic()
            )
        return rid, f"{self.workspace.base_url}response/{rid}"

    def trigger_id(self, user: str) -> str:
        """A fresh trigger_id (good for 3 seconds) for a request built by hand."""
        return self._trigger(user)

    def response_url(self, channel: str, user: str, thread_ts: str | None = None) -> str:
        """A fresh response_url for a request built by hand (Slack's own payload shapes in tests)."""
        return self._responder(channel, user, thread_ts, None)[1]

    def _team(self) -> dict[str, str]:
        return {"id": self.workspace.team_id, "domain": self.workspace.team_domain}

    def _interactive(self, payload: dict[str, Any]) -> AppResponse:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.signed_post(
            body, "application/x-www-form-urlencoded", kind=payload["type"], payload=payload
        )

    def _too_slow_or_failed(self, r: AppResponse) -> str | None:
        if r.status == 0:
            return "dispatch_failed"
        if r.elapsed > self.ack_timeout:
            return "operation_timeout"
        if r.status != 200:
            return "http_service_error" if r.status >= 500 else "dispatch_failed"
        return None

    # ------------------------------------------------------------------------------------------- commands

    def slash_command(
        self, command: str, text: str, *, user: str, channel: str, channel_name: str = "general"
    ) -> AppResponse:
        """A person types `/video text` in a channel; the ack's answer shows as Slack shows it.

        The text arrives as Slack sends it (`shapes.typed_command_text`): `&`, `<`, `>` escaped."""
        ws = self.workspace
        person = self._person(user)
        ws.add_channel(channel, channel_name)
        with ws.lock:
            sent_text = shapes.typed_command_text(text, dict(ws.users), dict(ws.channels))
        echo = ws.add_message(
            Message(
                channel,
                ws.new_ts(),
                user,
                text=f"{command} {sent_text}".strip(),
                subtype="slash_command",
                ephemeral_to=user,
            )
        )
        rid, response_url = self._responder(channel, user, None, None)
        form = {
            "token": self.verification_token,
            "team_id": ws.team_id,
            "team_domain": ws.team_domain,
            "channel_id": channel,
            "channel_name": "directmessage" if channel.startswith("D") else channel_name,
            "user_id": user,
            "user_name": person["name"],
            "command": command,
            "text": sent_text,
            "api_app_id": ws.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": self._trigger(user),
        }
        r = self.signed_post(
            urlencode(form).encode(), "application/x-www-form-urlencoded", kind="slash_command", payload=form
        )
        problem = self._too_slow_or_failed(r)
        if problem:
            notice = f'{command} failed with the error "{problem}"'
            ws.add_message(Message(channel, ws.new_ts(), SLACKBOT, text=notice, ephemeral_to=user))
            return r
        answer = r.json if isinstance(r.json, dict) else ({"text": r.text} if r.body.strip() else None)
        if answer and (answer.get("text") or answer.get("blocks")):
            if answer.get("response_type") == "in_channel":
                with ws.lock:
                    ws.find_message(channel, echo.ts).ephemeral_to = None  # type: ignore[union-attr]
            try:
                with ws.lock:
                    self.api.respond(rid, answer)
                    ws.responders[rid].uses -= 1  # the ack's own answer doesn't count against the URL
            except ApiError as exc:
                notice = f'{command} failed with the error "{exc.error}"'
                ws.add_message(Message(channel, ws.new_ts(), SLACKBOT, text=notice, ephemeral_to=user))
        return r

    # ------------------------------------------------------------------------------------------- clicks

    def click(
        self,
        message: Message,
        action_id: str,
        *,
        user: str,
        value: str | None = None,
        block_id: str | None = None,
    ) -> AppResponse:
        """A person presses a button (or picks from a select) in a message, as it is now."""
        ws = self.workspace
        current = ws.message(message.channel, message.ts)
        if current is None or current.deleted:
            raise AssertionError(f"message {message.ts} in {message.channel} is gone; nobody can click it")
        if current.ephemeral_to and current.ephemeral_to != user:
            raise AssertionError(f"{user} can't see the ephemeral message {current.ts}")
        block, el = elements.find_element(current.elements(), action_id, value=value, block_id=block_id)
        action = elements.action_payload(block, el, value, ws.new_ts())
        # A click in a reply answers in that thread; a click on a root message answers in the channel.
        thread_ts = current.thread_ts if current.is_reply else None
        _, response_url = self._responder(current.channel, user, thread_ts, (current.channel, current.ts))
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": current.ts,
            "channel_id": current.channel,
            "is_ephemeral": bool(current.ephemeral_to),
        }
        if thread_ts:
            container["thread_ts"] = thread_ts
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._person(user),
            "api_app_id": ws.app_id,
            "token": self.verification_token,
            "container": container,
            "trigger_id": self._trigger(user),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": current.channel, "name": ws.channel_name(current.channel)},
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [action],
        }
        if not current.ephemeral_to:  # Slack leaves the message out for ephemeral ones
            with ws.lock:
                payload["message"] = shapes.message_json(ws, ws.find_message(current.channel, current.ts))  # type: ignore[arg-type]
        return self._interactive(payload)

    # ------------------------------------------------------------------------------------------- App Home

    def open_home(self, user: str, *, tab: str = "home") -> AppResponse:
        """A person opens the app's Home tab (or its Messages tab): the `app_home_opened` event, with the
        Home tab's current view once the app has published one, as Slack sends it."""
        ws = self.workspace
        self._person(user)
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user,
            "channel": ws.dm_channel(user),
            "tab": tab,
            "event_ts": ws.new_ts(),
        }
        with ws.lock:
            home = ws.home_of(user)
            if tab == "home" and home is not None:
                event["view"] = {k: v for k, v in self.api.view_json(home).items() if k != "previous_view_id"}
        return self.send_event(event)

    def click_home(
        self, action_id: str, *, user: str, value: str | None = None, block_id: str | None = None
    ) -> AppResponse:
        """A person presses a button (after its confirmation dialog, if it has one) or picks from a select
        on their Home tab: a block_actions payload whose container is the view; no channel, no message,
        no response_url."""
        ws = self.workspace
        with ws.lock:
            home = ws.home_of(user)
            if home is None:
                raise AssertionError(f"{user} has no Home tab yet; the app never published one")
            view = self.api.view_json(home)
        found: list[elements.Element] = []
        for block in view.get("blocks", []):
            candidates = [block.get("accessory")] if block.get("type") == "section" else []
            candidates += block.get("elements", []) if block.get("type") == "actions" else []
            found += [
                (block.get("block_id"), el) for el in candidates if isinstance(el, dict) and "action_id" in el
            ]
        block, el = elements.find_element(found, action_id, value=value, block_id=block_id)
        action = elements.action_payload(block, el, value, ws.new_ts())
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._person(user),
            "api_app_id": ws.app_id,
            "token": self.verification_token,
            "container": {"type": "view", "view_id": view["id"]},
            "trigger_id": self._trigger(user),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "view": view,
            "actions": [action],
        }
        return self._interactive(payload)

    # ------------------------------------------------------------------------------------------- modals

    def _open_view(self, view_id: str, user: str) -> View:
        v = self.workspace.find_view(view_id)
        if v is None or not v.open:
            raise AssertionError(
                f"no open view {view_id}; open ones: {[x.id for x in self.workspace.views if x.open]}"
            )
        if v.user != user:
            raise AssertionError(f"view {view_id} is open for {v.user}, not {user}")
        return v

    def submit_view(self, view_id: str, values: Mapping[str, Mapping[str, Any]], *, user: str) -> AppResponse:
        """A person presses the modal's submit button; the app's answer is applied to the modal.

        `values` maps block_id -> action_id -> either Slack's value object or a shorthand (a string, or a
        list for multi-selects) turned into the element type's object.
        """
        ws = self.workspace
        v = self._open_view(view_id, user)
        payload = {
            "type": "view_submission",
            "team": self._team(),
            "user": self._person(user),
            "api_app_id": ws.app_id,
            "token": self.verification_token,
            "trigger_id": self._trigger(user),
            "view": self.api.view_json(v, elements.state_values(v.view, values)),
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        r = self._interactive(payload)
        with ws.lock:
            self._apply_submission_answer(ws.find_view(view_id), r)  # type: ignore[arg-type]
        return r

    def _apply_submission_answer(self, v: View, r: AppResponse) -> None:
        if self._too_slow_or_failed(r):
            v.problem = "We had some trouble connecting. Try again?"
            return
        answer = r.json if isinstance(r.json, dict) else {}
        action = answer.get("response_action")
        v.problem = None
        if action == "errors":
            v.errors = dict(answer.get("errors") or {})
        elif action == "update":
            self.api.replace_view(v, answer.get("view"))
        elif action == "push":
            self.api.new_view(answer.get("view"), v.user, previous=v)  # type: ignore[arg-type]
        elif action == "clear":
            for other in self.workspace.stack(v.root_view_id):
                other.open = False
        else:
            v.open = False

    # ------------------------------------------------------------------------------------------- events

    def send_event(
        self,
        event: dict[str, Any],
        *,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        event_id: str | None = None,
    ) -> AppResponse:
        """Delivers an Events API `event_callback` (JSON), optionally marked as one of Slack's retries."""
        ws = self.workspace
        envelope = {
            "token": self.verification_token,
            "team_id": ws.team_id,
            "context_team_id": ws.team_id,
            "context_enterprise_id": None,
            "api_app_id": ws.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or "Ev" + ws.new_id(""),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": ws.team_id,
                    "user_id": ws.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + secrets.token_hex(24),
        }
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        body = json.dumps(envelope).encode()
        return self.signed_post(
            body, "application/json", headers=headers, kind="event_callback", payload=envelope
        )

    def url_verification(self) -> AppResponse:
        """The handshake Slack does when the request URL is saved; the app must echo the challenge."""
        payload = {
            "token": self.verification_token,
            "challenge": secrets.token_urlsafe(24),
            "type": "url_verification",
        }
        return self.signed_post(
            json.dumps(payload).encode(), "application/json", kind="url_verification", payload=payload
        )

    def _person_event(self, m: Message) -> dict[str, Any]:
        event = shapes.message_json(self.workspace, m)
        event.pop("team", None)
        event.update(
            channel=m.channel,
            event_ts=m.ts,
            channel_type=shapes.channel_type(m.channel),
            team=self.workspace.team_id,
            client_msg_id=str(uuid.uuid4()),
        )
        if m.subtype == "thread_broadcast" and m.thread_ts:
            root = self.workspace.find_message(m.channel, m.thread_ts)
            if root is not None:
                event["root"] = shapes.message_json(self.workspace, root)
        return event

    def _place(self, channel: str, user: str, thread_ts: str | None) -> str | None:
        ws = self.workspace
        self._person(user)
        ws.add_channel(channel)
        if channel.startswith("D"):
            ws.dms[channel] = ws.dms.get(channel) or user
        if not thread_ts:
            return None
        with ws.lock:
            return self.api._thread_of(channel, thread_ts)

    def say(
        self, channel: str, text: str, *, user: str, thread_ts: str | None = None, broadcast: bool = False
    ) -> Message:
        """A person posts a message (in a thread when thread_ts is given); the app gets a `message` event.

        `text` is what they type; it is sent as Slack sends it (`shapes.typed_message_text`): `&`, `<`, `>`
        escaped, except in the tokens of what they picked from the composer (`<@U…>`, `<#C…|name>`,
        `<!here>`, `<https://…|label>`), and a pasted address made a link. `broadcast`: a reply sent with
        "Also send to channel" (subtype `thread_broadcast`, with its thread's `root`)."""
        ws = self.workspace
        thread = self._place(channel, user, thread_ts)
        sent = shapes.typed_message_text(text)
        subtype = "thread_broadcast" if broadcast and thread else None
        m = ws.add_message(Message(channel, ws.new_ts(), user, text=sent, thread_ts=thread, subtype=subtype))
        with ws.lock:
            event = self._person_event(m)
        self.send_event(event)
        return ws.message(channel, m.ts)  # type: ignore[return-value]

    def host_file(
        self,
        path: Path,
        *,
        user: str,
        file_id: str | None = None,
        channel: str | None = None,
        thread_ts: str | None = None,
        message_ts: str | None = None,
    ) -> UploadedFile:
        """Slack holds a file a person uploaded (served on its url_private with the bot token, described by
        files.info), without any message or event: for sending Slack's own payloads about it."""
        ws = self.workspace
        path = Path(path)
        file_id = file_id or ws.new_id("F")
        stored = ws.files_dir / "people" / file_id / path.name
        stored.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, stored)
        mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        ext = path.suffix.lower().lstrip(".") or "binary"
        size = shapes.image_size(stored) if mimetype.startswith("image/") else None
        f = UploadedFile(
            id=file_id,
            name=path.name,
            title=path.stem,
            size=stored.stat().st_size,
            path=stored,
            mimetype=mimetype,
            filetype=_IMAGE_FILETYPES.get(ext, ext),
            user=user,
            created=int(time.time()),
            channel=channel,
            thread_ts=thread_ts,
            message_ts=message_ts,
            original_w=size[0] if size else None,
            original_h=size[1] if size else None,
        )
        ws.add_file(f)
        return f

    def share_file(
        self,
        channel: str,
        path: Path,
        *,
        user: str,
        thread_ts: str | None = None,
        text: str = "",
        slack_connect: bool = False,
    ) -> Message:
        """A person drops a file: it's served (bot token required) and a `file_share` event follows.

        `slack_connect`: the person is in another organization of a Slack Connect channel, so the event
        carries only a stub of the file (`mode: file_access`, `file_access: check_file_info`) that the app
        completes with files.info."""
        ws = self.workspace
        thread = self._place(channel, user, thread_ts)
        ts = ws.new_ts()
        f = self.host_file(path, user=user, channel=channel, thread_ts=thread, message_ts=ts)
        sent = shapes.typed_message_text(text)
        m = Message(channel, ts, user, text=sent, thread_ts=thread, files=[f], subtype="file_share")
        ws.add_message(m)
        with ws.lock:
            event = self._person_event(m)
        if slack_connect:
            event["files"] = [
                {
                    "id": f.id,
                    "mode": "file_access",
                    "file_access": "check_file_info",
                    "created": f.created,
                    "timestamp": f.created,
                    "user": user,
                }
            ]
        self.send_event(event)
        return ws.message(channel, m.ts)  # type: ignore[return-value]

    def edit(self, message: Message, text: str) -> AppResponse:
        """The author edits a message: Slack sends a `message_changed` event."""
        ws = self.workspace
        with ws.lock:
            m = ws.find_message(message.channel, message.ts)
            assert m is not None and not m.deleted, f"message {message.ts} is gone"
            previous = self._person_event(m)
            m.history.append((m.text, m.blocks))
            m.text, m.edited, m.edited_ts = shapes.typed_message_text(text), m.edited + 1, ws.new_ts()
            event = _change_event(
                m.channel, ws.new_ts(), message=self._person_event(m), previous_message=previous
            )
        return self.send_event(event)

    def delete(self, message: Message) -> AppResponse:
        """The author deletes a message: Slack sends a `message_deleted` event."""
        ws = self.workspace
        with ws.lock:
            m = ws.find_message(message.channel, message.ts)
            assert m is not None and not m.deleted, f"message {message.ts} is gone"
            m.deleted = True
            event = _change_event(
                m.channel, ws.new_ts(), deleted_ts=m.ts, previous_message=self._person_event(m)
            )
            event["subtype"] = "message_deleted"
        return self.send_event(event)

    def react(self, message: Message, name: str, *, user: str) -> AppResponse:
        """A person adds an emoji reaction to a message: Slack records it and sends `reaction_added`
        (Slack's events reference: `user`, `reaction`, `item_user`, `item` {type, channel, ts},
        `event_ts`)."""
        ws = self.workspace
        self._person(user)
        with ws.lock:
            m = ws.find_message(message.channel, message.ts)
            assert m is not None and not m.deleted, f"message {message.ts} is gone"
            who = m.reactions.setdefault(name, [])
            if user not in who:
                who.append(user)
            event_ts = ws.new_ts()
        event = {
            "type": "reaction_added",
            "user": user,
            "reaction": name,
            "item_user": m.user,
            "item": {"type": "message", "channel": m.channel, "ts": m.ts},
            "event_ts": event_ts,
        }
        return self.send_event(event)

    # ------------------------------------------------------------------------------------------- echoes

    def echo(self, event: dict[str, Any]) -> None:
        """Called by the Web API for the bot's own posts/edits; delivered in order, off the request thread."""
        if not self.echo_bot_messages or self._target is None:
            return
        if self._echo_thread is None:
            self._echo_thread = threading.Thread(target=self._echo_loop, name="localslack-echo", daemon=True)
            self._echo_thread.start()
        self._echoes.put(event)

    def _echo_loop(self) -> None:
        while (event := self._echoes.get()) is not None:
            try:
                self.send_event(event)
            finally:
                self._echoes.task_done()
        self._echoes.task_done()

    def stop_echoes(self) -> None:
        if self._echo_thread is not None:
            self._echoes.put(None)
            self._echo_thread.join(timeout=5)
            self._echo_thread = None


def _change_event(channel: str, ts: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": channel,
        "channel_type": shapes.channel_type(channel),
        "ts": ts,
        "event_ts": ts,
        **fields,
    }
