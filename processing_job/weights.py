"""Where a job's model weights come from, first match wins:

1. `staged`: the job's `model/` folder, when it holds a diffusers `model_index.json` (SageMaker copies
   the weights there from S3, so no job downloads 20 GB from the hub);
2. `cache`: `<VIDEOBOT_MODEL_CACHE>/<model key>` (default `~/.cache/videobot/models`);
3. `built`: a tiny test model is built into that cache instead (`ensure_tiny_model`);
4. `hub`: the model's hub id, through the Hugging Face cache and, when online, a download.

A job reads its weights; it never saves them anywhere.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from processing_job.models import ModelInfo

MODEL_CACHE_ENV = "VIDEOBOT_MODEL_CACHE"
DEFAULT_MODEL_CACHE = Path("~/.cache/videobot/models")
MODEL_INDEX = "model_index.json"
# Written last by `make stage-model` (processing_job/stage.py): its presence means the folder is whole.
# The bot lists it at launch to decide between staged weights and the hub.
STAGED_MANIFEST = "videobot-staged.json"

STAGED = "staged"
CACHE = "cache"
BUILT = "built"
HUB = "hub"


class WeightsError(RuntimeError):
    """The weights can't be had; the message is a sentence for the person who asked."""


@dataclass(frozen=True)
class WeightsSource:
    kind: str  # staged | cache | built | hub
    location: str  # a folder, or a hub id for `hub`

    def describe(self) -> str:
        where = {
            STAGED: "staged folder",
            CACHE: "local model cache",
            BUILT: "built locally",
            HUB: "Hugging Face hub",
        }
        return f"{where.get(self.kind, self.kind)}: {self.location}"


def model_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get(MODEL_CACHE_ENV) or DEFAULT_MODEL_CACHE).expanduser()


def hub_is_offline() -> bool:
    """Whether the Hugging Face libraries will refuse the network (HF_HUB_OFFLINE, read at import)."""
    from huggingface_hub import is_offline_mode

    return is_offline_mode()


def resolve_weights(
    info: ModelInfo,
    staged_dir: Path,
    cache_dir: Path | None = None,
    *,
    hub_offline: bool | None = None,
) -> WeightsSource:
    """Pick the weights for `info` (see the module's docstring); WeightsError when there are none."""
    cache_dir = model_cache_dir() if cache_dir is None else cache_dir
    if (staged_dir / MODEL_INDEX).is_file():
        _check_pipeline(info, staged_dir)
        return WeightsSource(STAGED, str(staged_dir))
    cached = cache_dir / info.key
    if info.built_locally:
        from processing_job.tiny import ensure_tiny_model, is_current

        kind = CACHE if is_current(cached, info.key) else BUILT
        return WeightsSource(kind, str(ensure_tiny_model(cache_dir, info.key)))
    if (cached / MODEL_INDEX).is_file():
        _check_pipeline(info, cached)
        return WeightsSource(CACHE, str(cached))
    if info.hub_id is None:
        raise WeightsError(f"The model weights for {info.name} were not found in {staged_dir} or {cached}.")
    offline = hub_is_offline() if hub_offline is None else hub_offline
    if offline and not _in_hub_cache(info.hub_id):
        raise WeightsError(
            f"The model weights for {info.name} were not found: nothing is staged in {staged_dir} "
            f"or cached in {cached}, and the Hugging Face hub is offline, so {info.hub_id} "
            "can't be downloaded."
        )
    return WeightsSource(HUB, info.hub_id)


def _check_pipeline(info: ModelInfo, folder: Path) -> None:
    """Refuse a folder that holds another pipeline (say, image-to-video weights for a text job)."""
    try:
        index = json.loads((folder / MODEL_INDEX).read_text())
    except (OSError, ValueError) as error:
        raise WeightsError(
            f"The model weights in {folder} are unreadable ({MODEL_INDEX}: {error})."
        ) from None
    found = index.get("_class_name") if isinstance(index, dict) else None
    if found != info.pipeline:
        raise WeightsError(
            f"The model weights in {folder} are for {found or 'an unknown pipeline'}, "
            f"but {info.name} needs {info.pipeline}."
        )


def _in_hub_cache(hub_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(hub_id, MODEL_INDEX)
    return isinstance(found, str)


# ------------------------------------------------------------------ staged weights read from S3 by the job

# `s3://<bucket>/<prefix>/`: the job reads the staged weights itself (parallel ranged GETs) into its
# model folder while it starts, instead of SageMaker copying them (File mode) before it starts.
WEIGHTS_S3_ENV = "VIDEOBOT_WEIGHTS_S3"
PART_BYTES = 16 * 1024 * 1024  # several MiB a GET: S3's throughput per connection peaks around there
READERS = 32  # parallel GETs; an instance's network, not one connection, is the limit


@dataclass(frozen=True)
class WeightsDownload:
    """What `download_prefix` did: files and bytes written, GETs made, and how long it took."""

    files: int
    bytes: int
    parts: int
    seconds: float

    def to_dict(self) -> dict[str, float | int]:
        return {
            "files": self.files,
            "bytes": self.bytes,
            "parts": self.parts,
            "seconds": round(self.seconds, 3),
        }


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix/` -> ("bucket", "some/prefix/")."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"Not an s3://bucket/prefix/ address: {uri!r}")
    bucket, _, prefix = uri[5:].partition("/")
    return bucket, prefix


def download_prefix(
    client: Any,
    bucket: str,
    prefix: str,
    folder: Path,
    *,
    part_bytes: int = PART_BYTES,
    readers: int = READERS,
) -> WeightsDownload:
    """Every object under `prefix` into `folder` (same relative paths), each read in `part_bytes`
    ranges by `readers` threads at once and written in place at its offset. The manifest that staging
    writes last is written last here too, so a folder with it is whole."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    started = time.perf_counter()
    objects: list[tuple[str, int]] = []
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        objects.extend((item["Key"], int(item["Size"])) for item in page.get("Contents", []))
    parts: list[tuple[Path, str, int, int]] = []
    manifest: tuple[Path, str] | None = None
    for key, size in objects:
        relative = key[len(prefix) :]
        if not relative or relative.endswith("/") or ".." in Path(relative).parts:
            continue
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if relative == STAGED_MANIFEST:
            manifest = (target, key)
            continue
        with target.open("wb") as handle:
            handle.truncate(size)  # the file at its full size; each part is written at its offset
        parts.extend(
            (target, key, start, min(size, start + part_bytes) - 1) for start in range(0, size, part_bytes)
        )

    def fetch(part: tuple[Path, str, int, int]) -> int:
        target, key, first, last = part
        body = client.get_object(Bucket=bucket, Key=key, Range=f"bytes={first}-{last}")["Body"].read()
        if len(body) != last - first + 1:
            raise WeightsError(f"The staged weights changed while they were read ({key}).")
        fd = os.open(target, os.O_WRONLY)
        try:
            view = memoryview(body)
            offset = first
            while view:
                written = os.pwrite(fd, view, offset)
                view, offset = view[written:], offset + written
        finally:
            os.close(fd)
        return len(body)

    with ThreadPoolExecutor(max_workers=max(1, readers), thread_name_prefix="weights") as pool:
        total = sum(pool.map(fetch, parts))
    if manifest is not None:
        target, key = manifest
        target.write_bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    files = sum(1 for key, _ in objects if not key.endswith("/"))
    return WeightsDownload(files=files, bytes=total, parts=len(parts), seconds=time.perf_counter() - started)


class WeightsPrefetch:
    """The staged weights read from S3 in a background thread, begun as the job starts, so the read
    overlaps importing torch and diffusers; `wait()` is the part of the load phase it still costs."""

    def __init__(self, uri: str, folder: Path, *, client: Any = None) -> None:
        import threading

        self.uri = uri
        self.folder = folder
        self._client = client
        self._done = threading.Event()
        self._result: WeightsDownload | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="weights-prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            if self._client is None:
                import boto3
                from botocore.config import Config

                self._client = boto3.client("s3", config=Config(max_pool_connections=READERS + 4))
            bucket, prefix = split_s3_uri(self.uri)
            self._result = download_prefix(self._client, bucket, prefix, self.folder)
        except BaseException as error:  # handed to whoever waits
            self._error = error
        finally:
            self._done.set()

    def wait(self) -> tuple[WeightsDownload, float]:
        """The finished download and the seconds spent waiting for it here; WeightsError if it failed."""
        import time

        started = time.perf_counter()
        self._done.wait()
        waited = time.perf_counter() - started
        if self._error is not None:
            if isinstance(self._error, WeightsError):
                raise self._error
            raise WeightsError(
                f"The staged model weights could not be read from {self.uri} ({type(self._error).__name__})."
            ) from self._error
        assert self._result is not None
        return self._result, waited


_prefetches: dict[Path, WeightsPrefetch] = {}


def start_prefetch(folder: Path, env: Mapping[str, str] | None = None) -> WeightsPrefetch | None:
    """Begin reading `VIDEOBOT_WEIGHTS_S3` into `folder` (once per folder); None when not asked."""
    env = os.environ if env is None else env
    uri = (env.get(WEIGHTS_S3_ENV) or "").strip()
    if not uri:
        return None
    if folder not in _prefetches:
        _prefetches[folder] = WeightsPrefetch(uri, folder)
    return _prefetches[folder]


def prefetched(folder: Path) -> WeightsPrefetch | None:
    """The prefetch begun for `folder`, if any."""
    return _prefetches.get(folder)
