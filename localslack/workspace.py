"""The recorded state of the local workspace: what people would see, and what the app asked of Slack.

Everything lives behind one re-entrant lock; the HTTP server's threads mutate it, tests read it. Queries
hand out deep copies, so a test holds a snapshot that can't change under it (ask again for fresh state).
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from localslack.transcript import format_transcript, render_blocks

if TYPE_CHECKING:
    from localslack.people import AppResponse

T = TypeVar("T")
SLACKBOT = "USLACKBOT"


@dataclass
class UploadedFile:
    """A file in the workspace: uploaded by the app (files_upload_v2) or dropped by a person."""

    id: str
    name: str
    title: str
    size: int
    path: Path | None  # where the bytes are on disk; None until the upload URL has received them
    mimetype: str = "application/octet-stream"
    filetype: str = "binary"
    user: str = ""
    created: int = 0
    alt_txt: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None
    message_ts: str | None = None  # the message that shares it
    original_w: int | None = None
    original_h: int | None = None

    def read_bytes(self) -> bytes:
        assert self.path is not None, f"file {self.id} has no bytes yet"
        return self.path.read_bytes()


@dataclass
class Message:
    """One message as people see it (ephemeral ones too: `ephemeral_to` says who sees it)."""

    channel: str
    ts: str
    user: str | None
    bot_id: str | None = None
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)  # [] when the message has none
    thread_ts: str | None = None
    files: list[UploadedFile] = field(default_factory=list)
    ephemeral_to: str | None = None
    edited: int = 0  # how many times it was updated
    deleted: bool = False
    streaming: bool = False
    subtype: str | None = None  # "file_share", "slash_command" (the echo of a typed command), ...
    edited_ts: str | None = None
    reactions: dict[str, list[str]] = field(default_factory=dict)
    metadata: dict[str, Any] | None = None
    history: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)  # earlier (text, blocks)
    stream_started: float = 0.0

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def elements(self) -> list[tuple[str | None, dict[str, Any]]]:
        """Every interactive element in the blocks, with its block's id."""
        found: list[tuple[str | None, dict[str, Any]]] = []
        for block in self.blocks:
            if block.get("type") == "actions":
                found += [(block.get("block_id"), el) for el in block.get("elements", [])]
            elif block.get("type") == "section" and "accessory" in block:
                found.append((block.get("block_id"), block["accessory"]))
            elif block.get("type") == "input" and "element" in block:
                found.append((block.get("block_id"), block["element"]))
        return [(b, el) for b, el in found if "action_id" in el]

    def action_ids(self) -> list[str]:
        return [el["action_id"] for _, el in self.elements()]


@dataclass
class View:
    """A modal the app opened (views.open / push / update), as the person sees it now."""

    id: str
    view: dict[str, Any]
    user: str
    hash: str
    root_view_id: str
    previous_view_id: str | None = None
    external_id: str | None = None
    open: bool = True
    errors: dict[str, str] | None = None  # response_action=errors, shown under the inputs
    problem: str | None = None  # what Slack shows when the app fails to answer a submission
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier versions

    @property
    def callback_id(self) -> str | None:
        return self.view.get("callback_id")

    @property
    def private_metadata(self) -> str:
        return self.view.get("private_metadata", "")

    @property
    def title(self) -> str:
        return (self.view.get("title") or {}).get("text", "")


@dataclass(frozen=True)
class ApiCall:
    method: str
    params: dict[str, Any]
    status: int
    ok: bool
    error: str | None
    at: float
    injected: bool = False


@dataclass(frozen=True)
class Status:
    """One assistant.threads.setStatus call ("" clears the status)."""

    channel: str
    thread_ts: str
    status: str
    loading_messages: list[str] | None
    at: float


@dataclass
class Fault:
    """The next `remaining` calls of `method` fail this way (see SlackStandIn.inject)."""

    method: str
    status: int
    error: str | None
    retry_after: int | None
    remaining: int
    delay: float = 0.0
    disconnect: bool = False
    after: int = 0  # calls of `method` let through before the fault starts


@dataclass
class Responder:
    """A response_url: where it came from, what it replaces, how often it was used."""

    id: str
    channel: str
    user: str
    thread_ts: str | None
    original: tuple[str, str] | None  # (channel, ts) of the message replace_original acts on
    created: float
    uses: int = 0


class Workspace:
    """All recorded state, and the queries tests use."""

    def __init__(
        self,
        *,
        files_dir: Path,
        bot_token: str,
        bot_user_id: str,
        bot_id: str,
        team_id: str,
        app_id: str,
        bot_name: str,
        users: dict[str, str],
        channels: dict[str, str],
    ) -> None:
        self.lock = threading.RLock()
        self.files_dir = files_dir
        self.bot_token = bot_token
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.team_id = team_id
        self.team_domain = "local"
        self.app_id = app_id
        self.bot_name = bot_name
        self.base_url = "http://127.0.0.1:0/"  # set once the server listens
        self.users: dict[str, str] = {bot_user_id: bot_name, SLACKBOT: "Slackbot", **users}
        self.channels: dict[str, str] = dict(channels)
        self.dms: dict[str, str] = {}  # DM channel id -> the person in it
        self._messages: list[Message] = []
        self._by_key: dict[tuple[str, str], Message] = {}
        self._files: dict[str, UploadedFile] = {}
        self._views: dict[str, View] = {}
        self._homes: dict[str, View] = {}  # user -> their Home tab (views.publish), apart from modals
        self._calls: list[ApiCall] = []
        self._statuses: list[Status] = []
        self._deliveries: list[AppResponse] = []
        self.faults: list[Fault] = []
        self.rate_limits: dict[str, tuple[int, float]] = {}
        self.triggers: dict[str, tuple[str, float]] = {}  # trigger_id -> (user, issued at)
        self.responders: dict[str, Responder] = {}
        self.uploads: dict[str, str] = {}  # upload token -> file id
        self._last_us = 0
        self._ids = itertools.count(1)

    # ------------------------------------------------------------------------------------------- ids & time

    def new_ts(self) -> str:
        """A unique, increasing Slack timestamp: "<unix seconds>.<6 digits>"."""
        with self.lock:
            us = max(int(time.time() * 1_000_000), self._last_us + 1)
            self._last_us = us
            return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def new_id(self, prefix: str) -> str:
        with self.lock:
            return f"{prefix}{next(self._ids):09d}"

    # ------------------------------------------------------------------------------------------- directory

    def display_name(self, user_id: str) -> str:
        return self.users.get(user_id, user_id)

    def channel_name(self, channel_id: str) -> str:
        return self.channels.get(channel_id, channel_id.lower())

    def dm_user(self, channel_id: str) -> str | None:
        return self.dms.get(channel_id)

    def add_channel(self, channel_id: str, name: str | None = None) -> None:
        with self.lock:
            if channel_id.startswith("D"):
                self.dms.setdefault(channel_id, "")
            self.channels.setdefault(channel_id, name or channel_id.lower())

    def dm_channel(self, user_id: str) -> str:
        """The DM between the bot and a person (created on first use), as `D…`."""
        with self.lock:
            for channel, user in self.dms.items():
                if user == user_id:
                    return channel
            channel = "D" + user_id.removeprefix("U")
            self.dms[channel] = user_id
            self.channels[channel] = f"dm-{self.display_name(user_id)}"
            return channel

    def knows_channel(self, channel_id: str) -> bool:
        return channel_id in self.channels

    # ------------------------------------------------------------------------------------------- recording

    def add_message(self, message: Message) -> Message:
        with self.lock:
            self._messages.append(message)
            self._by_key[(message.channel, message.ts)] = message
            return message

    def find_message(self, channel: str, ts: str) -> Message | None:
        """The live record (callers hold the lock); None if unknown."""
        return self._by_key.get((channel, ts))

    def replies_of(self, channel: str, thread_ts: str) -> list[Message]:
        """Visible-to-all replies of a thread (live records)."""
        return [
            m
            for m in self._messages
            if m.channel == channel and m.thread_ts == thread_ts and m.ts != thread_ts
            if not m.deleted and not m.ephemeral_to
        ]

    def add_file(self, f: UploadedFile) -> None:
        with self.lock:
            self._files[f.id] = f

    def find_file(self, file_id: str) -> UploadedFile | None:
        return self._files.get(file_id)

    def add_view(self, v: View) -> None:
        with self.lock:
            self._views[v.id] = v

    def find_view(self, view_id: str | None = None, *, external_id: str | None = None) -> View | None:
        with self.lock:
            if view_id:
                return self._views.get(view_id)
            return next(
                (v for v in self._views.values() if external_id and v.external_id == external_id), None
            )

    def home_of(self, user: str) -> View | None:
        """The live record of `user`'s Home tab, once the app has published one."""
        with self.lock:
            return self._homes.get(user)

    def set_home(self, user: str, view: View) -> None:
        with self.lock:
            self._homes[user] = view

    def delete_file(self, file_id: str) -> None:
        """The file is gone: from the workspace, and from every message that shared it."""
        with self.lock:
            self._files.pop(file_id, None)
            for m in self._messages:
                m.files = [f for f in m.files if f.id != file_id]

    def stack(self, root_view_id: str) -> list[View]:
        """The live views pushed on one root (callers hold the lock)."""
        return [v for v in self._views.values() if v.root_view_id == root_view_id]

    def record_call(self, call: ApiCall) -> None:
        with self.lock:
            self._calls.append(call)

    def record_status(self, status: Status) -> None:
        with self.lock:
            self._statuses.append(status)

    def record_delivery(self, delivery: AppResponse) -> None:
        with self.lock:
            self._deliveries.append(delivery)

    # ------------------------------------------------------------------------------------------- queries

    def thread(self, channel: str, thread_ts: str, *, include_ephemeral: bool = True) -> list[Message]:
        """The root then its replies, in ts order, as its people see it: ephemerals posted in the thread
        included (marked by `ephemeral_to`), deleted messages left out."""
        with self.lock:
            found = [
                m
                for m in self._messages
                if m.channel == channel and (m.ts == thread_ts or m.thread_ts == thread_ts)
                if not m.deleted and (include_ephemeral or not m.ephemeral_to)
            ]
            found.sort(key=lambda m: (m.ts != thread_ts, float(m.ts)))
            return copy.deepcopy(found)

    def messages(
        self, channel: str | None = None, *, include_ephemeral: bool = False, include_deleted: bool = False
    ) -> list[Message]:
        """What everyone in the channel sees, in ts order (ephemerals only when asked; see ephemerals())."""
        with self.lock:
            found = [
                m
                for m in self._messages
                if (channel is None or m.channel == channel)
                and (include_ephemeral or not m.ephemeral_to)
                and (include_deleted or not m.deleted)
            ]
            return copy.deepcopy(sorted(found, key=lambda m: float(m.ts)))

    def message(self, channel: str, ts: str) -> Message | None:
        with self.lock:
            found = self._by_key.get((channel, ts))
            return copy.deepcopy(found)

    def ephemerals(self, user: str | None = None) -> list[Message]:
        """Ephemeral messages shown to a person (not the echoes of their own slash commands)."""
        return [
            m
            for m in self.messages(include_ephemeral=True)
            if m.ephemeral_to and m.subtype != "slash_command" and (user is None or m.ephemeral_to == user)
        ]

    @property
    def files(self) -> list[UploadedFile]:
        with self.lock:
            return copy.deepcopy(list(self._files.values()))

    def home(self, user: str) -> View | None:
        """`user`'s Home tab as they see it now (a copy), or None before the app published one."""
        with self.lock:
            return copy.deepcopy(self.home_of(user))

    @property
    def views(self) -> list[View]:
        with self.lock:
            return copy.deepcopy(list(self._views.values()))

    @property
    def api_calls(self) -> list[ApiCall]:
        with self.lock:
            return list(self._calls)

    @property
    def statuses(self) -> list[Status]:
        with self.lock:
            return list(self._statuses)

    @property
    def deliveries(self) -> list[AppResponse]:
        with self.lock:
            return list(self._deliveries)

    def calls(self, method: str) -> list[ApiCall]:
        return [c for c in self.api_calls if c.method == method]

    # ------------------------------------------------------------------------------------------- reading it

    def transcript(self, channel: str | None = None) -> str:
        """Every channel (or one) as people would read it, plus open modals."""
        with self.lock:
            channels = [channel] if channel else sorted({m.channel for m in self._messages})
            parts = []
            for c in channels:
                label = (
                    f"DM with @{self.display_name(self.dms[c])}"
                    if self.dms.get(c)
                    else f"#{self.channel_name(c)}"
                )
                body = format_transcript(
                    self.messages(c, include_ephemeral=True, include_deleted=True), self.users
                )
                parts.append(f"── {label} ({c}) ──\n{body}")
            open_views = [v for v in self._views.values() if v.open]
            for v in open_views:
                body = "\n".join(
                    "  " + line for line in render_blocks(v.view.get("blocks") or [], self.users)
                )
                errors = f"\n  errors: {v.errors}" if v.errors else ""
                who = self.display_name(v.user)
                parts.append(f"── modal {v.id} {v.title!r} (open for @{who}) ──\n{body}{errors}")
            return "\n\n".join(parts) if parts else "(nothing posted yet)"

    def wait_until(self, predicate: Callable[[], T], timeout: float = 30, what: str = "") -> T:
        """Polls `predicate` until it returns something truthy, and returns that.

        A predicate that raises LookupError, StopIteration or AssertionError counts as "not yet" (so
        `lambda: ws.thread(c, ts)[2]` and `lambda: next(m for m in ... if ...)` work); on timeout the
        TimeoutError carries `what`, the transcript and the API calls that failed, so a failing test
        explains itself.
        """
        deadline = time.monotonic() + timeout
        last_error: BaseException | None = None
        while True:
            try:
                result = predicate()
                if result:
                    return result
            except (LookupError, StopIteration, AssertionError) as exc:
                last_error = exc
            if time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        failed = [f"  {c.method}: {c.error or c.status}" for c in self.api_calls if not c.ok][-10:]
        bad_answers = [
            f"  {d.kind}: HTTP {d.status} {d.body[:200]!r}" for d in self.deliveries if d.status != 200
        ]
        report = [f"Timed out after {timeout:g} s waiting for {what or 'a condition'}"]
        if last_error is not None:
            report.append(f"Last check raised {type(last_error).__name__}: {last_error}")
        report += ["", self.transcript()]
        if failed:
            report += ["", "Failed API calls (last 10):", *failed]
        if bad_answers:
            report += ["", "Requests the app did not answer with 200:", *bad_answers[-10:]]
        raise TimeoutError("\n".join(report)) from last_error
