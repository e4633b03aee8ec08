"""Pictures people share in Slack: which files to take, fetched only from Slack, checked before use.

A file arrives as metadata in a `file_share` message event. Before a byte is downloaded, the metadata
must say it is a picture of a type we take, within the size and pixel caps, hosted on one of Slack's
file hosts. The download then goes to that host only, with the bot token, refusing any redirect that
leaves the allowed hosts (the token must never travel elsewhere), and reads at most the byte cap. The
bytes are checked once more (`processing_job.images.check_image_bytes`: header, type and pixel count
before anything is decoded) before they are stored. Every refusal is a polite sentence for the person.
"""

from __future__ import annotations

import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.conversation.limits import Limits
from bot.slack.video_header import CONTAINERS, VideoHeaderError, read_video_header

log = logging.getLogger(__name__)

SLACK_FILE_HOSTS = frozenset({"files.slack.com"})
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WebP": "image/webp", "GIF": "image/gif"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WebP": "webp", "GIF": "gif"}
ACCEPTED_MIMETYPES = frozenset(MEDIA_TYPES.values())
ACCEPTED_NAMES = "JPEG, PNG, WebP or GIF"
DOWNLOAD_TIMEOUT_S = 20  # for the whole download, however the bytes trickle in
READ_TIMEOUT_S = 5  # for each read: a silent host is given up on sooner
CHUNK = 64 * 1024
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


class PictureRejected(ValueError):
    """A shared file we won't use; the message is a polite sentence for the person who shared it."""


@dataclass(frozen=True)
class SharedFile:
    """What Slack says about a shared file, typed at the edge."""

    id: str
    name: str
    mimetype: str
    size: int
    url: str  # url_private_download
    width: int | None = None
    height: int | None = None

    @property
    def is_picture(self) -> bool:
        return self.mimetype.startswith("image/")

    @property
    def is_video(self) -> bool:
        return self.mimetype.startswith("video/")

    @classmethod
    def from_event(cls, data: Mapping[str, Any]) -> SharedFile:
        def number(key: str) -> int | None:
            value = data.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None

        return cls(
            id=str(data.get("id") or ""),
            name=str(data.get("name") or data.get("title") or "picture"),
            mimetype=str(data.get("mimetype") or "").lower(),
            size=number("size") or 0,
            url=str(data.get("url_private_download") or data.get("url_private") or ""),
            width=number("original_w"),
            height=number("original_h"),
        )

    @property
    def needs_lookup(self) -> bool:
        """Slack sometimes sends a stub (file_access: check_file_info) that files.info completes."""
        return not self.url or not self.mimetype


@dataclass(frozen=True)
class Picture:
    """A checked picture, ready to store and animate."""

    data: bytes
    media_type: str
    extension: str
    width: int  # upright, as people see it
    height: int

    def blob_key(self, channel: str, thread_ts: str, file_id: str) -> str:
        """Where it is kept: one folder per session, a name made only of safe characters (never the
        file's own name, so no path can come from a person)."""
        session = _SAFE.sub("", f"{channel}-{thread_ts}")
        name = _SAFE.sub("", file_id)[:40] or "picture"
        return f"images/{session}/{name}.{self.extension}"


@dataclass(frozen=True)
class Video:
    """A checked video (its header read, nothing decoded), ready to store and restyle."""

    data: bytes
    media_type: str
    extension: str
    width: int  # upright, as people see it
    height: int
    seconds: float
    frame_count: int

    def blob_key(self, channel: str, thread_ts: str, file_id: str) -> str:
        """Beside the session's pictures, named only with safe characters (as `Picture.blob_key`)."""
        session = _SAFE.sub("", f"{channel}-{thread_ts}")
        name = _SAFE.sub("", file_id)[:40] or "video"
        return f"videos/{session}/{name}.{self.extension}"


# What a shared video may be, checked on Slack's word before downloading and on the header after: what
# the render job takes (processing_job.restyle), less what a Slack function should hold in memory.
MAX_VIDEO_BYTES = 100 * 2**20
MAX_VIDEO_SECONDS = 60.0
MAX_VIDEO_PIXELS = 3840 * 2160
MAX_VIDEO_FPS = 240.0
VIDEO_TYPES = {"video/mp4": "mp4", "video/quicktime": "mov"}


def check_video_metadata(file: SharedFile, hosts: frozenset[str]) -> None:
    """Refuse a video on what Slack told us, before downloading anything."""
    if file.mimetype not in VIDEO_TYPES:
        raise PictureRejected(
            f"I can restyle {CONTAINERS} videos; that file is {file.mimetype or 'unknown'}."
        )
    if file.size > MAX_VIDEO_BYTES:
        raise PictureRejected(
            f"That video is {_mb(file.size)} MB; I can take videos up to {_mb(MAX_VIDEO_BYTES)} MB. "
            "Please share a shorter one."
        )
    _check_host(file, hosts, noun="video")


def check_video_facts(width: int, height: int, seconds: float, frames: int) -> None:
    """Refuse a video on what its header says: too long, too many pixels a frame, or no frames."""
    if frames <= 0 or seconds <= 0:
        raise PictureRejected("The video has no frames in it, so there is nothing to restyle.")
    if seconds > MAX_VIDEO_SECONDS:
        raise PictureRejected(
            f"The video is {seconds:.0f} seconds long; I can take videos up to {MAX_VIDEO_SECONDS:.0f} "
            "seconds. Please trim it and share it again."
        )
    if width * height > MAX_VIDEO_PIXELS or min(width, height) <= 0:
        raise PictureRejected(
            f"The video is {width}×{height}; I can take up to {MAX_VIDEO_PIXELS / 1e6:.1f} megapixels a "
            "frame. Please share a smaller one."
        )
    if frames / seconds > MAX_VIDEO_FPS:
        raise PictureRejected(
            f"The video says it runs at {frames / seconds:.0f} frames a second; that isn't a real video."
        )


def allowed_file_hosts(api_url: str | None) -> frozenset[str]:
    """Slack's file host, plus the local stand-in's host:port when the Web API is a loopback address
    (so tests and the demo run the very same checks against it)."""
    hosts = set(SLACK_FILE_HOSTS)
    if api_url:
        parts = urlsplit(api_url)
        if (parts.hostname or "") in LOOPBACK:
            hosts.add(parts.netloc)
    return frozenset(hosts)


def url_port(url: str) -> int | None:
    """The URL's port; ValueError if it names one no URL can have (`:99999`, `:x`)."""
    return urlsplit(url).port


def host_allowed(url: str, hosts: frozenset[str]) -> bool:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # not a port at all: certainly not Slack's
        return False
    if parts.scheme == "https" and (parts.hostname or "") in hosts and port in (None, 443):
        return True
    # Plain http only ever for a loopback stand-in named explicitly (host:port).
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK and parts.netloc in hosts


def check_metadata(file: SharedFile, limits: Limits, hosts: frozenset[str]) -> None:
    """Refuse on what Slack told us, before downloading anything."""
    if file.mimetype in ("image/heic", "image/heif", "image/avif"):
        raise PictureRejected(
            f"HEIC and AVIF photos aren't supported yet; please share the picture as {ACCEPTED_NAMES}."
        )
    if file.mimetype not in ACCEPTED_MIMETYPES:
        raise PictureRejected(
            f"I can animate {ACCEPTED_NAMES} pictures; that file is {file.mimetype or 'unknown'}."
        )
    if file.size > limits.max_image_bytes:
        raise PictureRejected(
            f"That picture is {_mb(file.size)} MB; I can take pictures up to "
            f"{_mb(limits.max_image_bytes)} MB. Please share a smaller one."
        )
    if file.width and file.height and file.width * file.height > limits.max_image_pixels:
        raise PictureRejected(
            f"That picture is {file.width}×{file.height}; I can take up to "
            f"{limits.max_image_pixels / 1e6:.0f} megapixels. Please share a smaller one."
        )
    _check_host(file, hosts, noun="picture")


def _check_host(file: SharedFile, hosts: frozenset[str], *, noun: str) -> None:
    try:
        url_port(file.url)
    except ValueError:
        log.warning("refusing a file link with an impossible port")
        raise PictureRejected(
            f"Slack's link to that {noun} is malformed (its port isn't a real one), so I left it. "
            f"Please share the {noun} again."
        ) from None
    if not host_allowed(file.url, hosts):
        log.warning("refusing to fetch a file from %s", urlsplit(file.url).netloc)
        raise PictureRejected(f"I can only read {noun}s shared in Slack itself, not links to other sites.")


class _StayOnAllowedHosts(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to another allowed host: the request carries the bot token."""

    def __init__(self, hosts: frozenset[str]) -> None:
        self.hosts = hosts

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN202 - urllib's hook
        if not host_allowed(newurl, self.hosts):
            log.warning("refusing a redirect to %s", urlsplit(newurl).netloc)
            raise PictureRejected("Slack sent that picture from somewhere I don't fetch from, so I left it.")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class SlackPictures:
    """Fetches and checks pictures shared in Slack (the one place that downloads people's files)."""

    def __init__(
        self,
        client: WebClient,
        limits: Limits,
        hosts: frozenset[str],
        *,
        deadline_s: float = DOWNLOAD_TIMEOUT_S,
        read_timeout_s: float = READ_TIMEOUT_S,
    ) -> None:
        self.client = client
        self.limits = limits
        self.hosts = hosts
        self.deadline_s = deadline_s
        self.read_timeout_s = min(read_timeout_s, deadline_s)
        self._opener = urllib.request.build_opener(_StayOnAllowedHosts(hosts))

    def complete(self, file: SharedFile) -> SharedFile:
        """The full metadata when the event only carried a stub."""
        if not file.needs_lookup or not file.id:
            return file
        try:
            info = self.client.files_info(file=file.id)
        except SlackApiError as error:
            log.warning("files.info for %s failed: %s", file.id, error.response.get("error"))
            raise PictureRejected(
                "I couldn't see that file. Is it shared in a conversation I'm in?"
            ) from None
        return SharedFile.from_event(info.get("file") or {})

    def fetch(self, file: SharedFile) -> Picture:
        """Download and check a shared picture; PictureRejected with the reason otherwise."""
        file = self.complete(file)
        check_metadata(file, self.limits, self.hosts)
        data = self._download(file.url)
        return self.inspect(data)

    def fetch_video(self, file: SharedFile) -> Video:
        """Download and check a shared video (type, size and host first; then its header: length,
        pixels, frames, all before anything is decoded); PictureRejected with the reason otherwise."""
        file = self.complete(file)
        check_video_metadata(file, self.hosts)
        data = self._download(file.url, cap=MAX_VIDEO_BYTES, noun="video")
        try:
            facts = read_video_header(data)
        except VideoHeaderError as error:
            raise PictureRejected(str(error)) from None
        check_video_facts(facts.width, facts.height, facts.duration_s, facts.frame_count)
        return Video(
            data=data,
            media_type=file.mimetype,
            extension=VIDEO_TYPES[file.mimetype],
            width=facts.width,
            height=facts.height,
            seconds=facts.duration_s,
            frame_count=facts.frame_count,
        )

    def _download(self, url: str, *, cap: int | None = None, noun: str = "picture") -> bytes:
        cap = self.limits.max_image_bytes if cap is None else cap
        request = urllib.request.Request(  # noqa: S310 - the scheme and host were checked above
            url, headers={"Authorization": f"Bearer {self.client.token}"}
        )
        deadline = time.monotonic() + self.deadline_s
        try:
            with self._opener.open(request, timeout=self.read_timeout_s) as answer:
                kind = (answer.headers.get("Content-Type") or "").lower()
                if kind.startswith("text/html"):
                    # Slack answers a sign-in page when the token may not read the file.
                    raise PictureRejected(
                        f"Slack didn't let me download that {noun}. An admin may need to reinstall me "
                        "with permission to read files."
                    )
                declared = answer.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > cap:
                    raise PictureRejected(
                        f"That {noun} is {_mb(int(declared))} MB; I can take {noun}s up to {_mb(cap)} MB."
                    )
                data = bytearray()
                # read1: what one read brings (read() would wait for a whole chunk, byte by trickled
                # byte), so the deadline is looked at between reads, each bounded by the read timeout.
                while block := answer.read1(CHUNK):
                    data += block
                    if len(data) > cap:  # a hard cap, whatever the headers said
                        raise PictureRejected(
                            f"That {noun} is larger than {_mb(cap)} MB; please share a smaller one."
                        )
                    if time.monotonic() > deadline:
                        log.warning("a shared file was still arriving after %.0f s", self.deadline_s)
                        raise PictureRejected(
                            f"Slack was taking too long to send me that {noun}, so I stopped. "
                            "Please try sharing it again."
                        )
        except urllib.error.HTTPError as error:
            log.warning("downloading a shared file answered HTTP %s", error.code)
            raise PictureRejected(
                f"I couldn't download that {noun} from Slack. Please try sharing it again."
            ) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            log.warning("downloading a shared file failed: %s", type(error).__name__)
            raise PictureRejected(
                f"I couldn't download that {noun} from Slack. Please try sharing it again."
            ) from None
        return bytes(data)

    def inspect(self, data: bytes) -> Picture:
        # Pillow only here, when a picture is actually shared: the bot's other paths never load it.
        from processing_job.images import ImageError, check_image_bytes

        try:
            facts = check_image_bytes(
                data, max_bytes=self.limits.max_image_bytes, max_pixels=self.limits.max_image_pixels
            )
        except ImageError as error:
            raise PictureRejected(str(error)) from None
        width, height = facts.upright_size
        return Picture(
            data=data,
            media_type=MEDIA_TYPES[facts.format],
            extension=EXTENSIONS[facts.format],
            width=width,
            height=height,
        )


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f}".removesuffix(".0")
