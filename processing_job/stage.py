"""Stage a model's weights in the project's S3 bucket, once, so jobs start without downloading them.

    python -m processing_job.stage 5b --bucket my-videobot-bucket      (or: make stage-model MODEL=5b)

Downloads the diffusers files of the model's hub repository (`huggingface_hub.snapshot_download`:
configs, safetensors, tokenizer; no pictures, no duplicate .bin weights) and uploads them unchanged
to `s3://<bucket>/<prefix>/<model key>/`, the folder the job definition copies to
`/opt/ml/processing/model`. `model_index.json` goes up last and a `videobot-staged.json` manifest
after it, so a half-staged folder never looks complete; a model already staged from the same hub
revision is left alone (`--force` stages it again). `--from-folder` uploads a folder that is already
downloaded. Runs wherever there are AWS credentials (a laptop, CloudShell, a one-off job).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from processing_job.models import UnknownModelError, resolve_model
from processing_job.weights import MODEL_INDEX, STAGED_MANIFEST

log = logging.getLogger(__name__)

# The same variables the bot's AWS settings read (bot/aws_config.py): one bucket, one prefix.
BUCKET_ENV = "VIDEOBOT_BUCKET"
MODELS_PREFIX_ENV = "VIDEOBOT_MODELS_PREFIX"
DEFAULT_PREFIX = "models"
MANIFEST = STAGED_MANIFEST
# A diffusers repository's files; weights only as safetensors (the repos also carry .bin copies).
ALLOW_PATTERNS = ["model_index.json", "*/*.json", "*/*.safetensors", "*/*.model", "*/*.txt"]

# (hub id, folder, revision) -> the folder holding the files
Download = Callable[[str, Path, str | None], Path]


class StageError(RuntimeError):
    """Staging can't go on; the message says why and what to do."""


@dataclass(frozen=True)
class StageResult:
    model: str
    bucket: str
    prefix: str  # the model's folder in the bucket, ending in /
    files: int
    bytes: int
    revision: str | None
    skipped: bool  # already staged from the same files

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def hub_revision(hub_id: str) -> str | None:
    """The commit the hub repository's main branch is at."""
    from huggingface_hub import HfApi

    return HfApi().model_info(hub_id).sha


def hub_download(hub_id: str, folder: Path, revision: str | None) -> Path:
    """The hub repository's diffusers files, at `revision`, in `folder`."""
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(hub_id, revision=revision, local_dir=folder, allow_patterns=ALLOW_PATTERNS))


def stage_model(
    model: str,
    bucket: str,
    *,
    prefix: str = DEFAULT_PREFIX,
    s3: Any = None,
    from_folder: Path | None = None,
    force: bool = False,
    download: Download = hub_download,
    revision_of: Callable[[str], str | None] = hub_revision,
    report: Callable[[str], None] = print,
) -> StageResult:
    """Copy `model`'s weights to `s3://bucket/prefix/<key>/` unless the same files are there already."""
    info = resolve_model(model)
    if info.built_locally or info.hub_id is None:
        raise StageError(f"{info.name} is built locally by the job; there is nothing to stage.")
    if s3 is None:
        import boto3

        s3 = boto3.client("s3")
    folder_prefix = f"{prefix.strip('/')}/{info.key}/" if prefix.strip("/") else f"{info.key}/"
    staged = None if force else _read_manifest(s3, bucket, folder_prefix)

    def already() -> StageResult:
        report(f"{info.name} is already staged at s3://{bucket}/{folder_prefix}")
        return _result(info.key, bucket, folder_prefix, staged or {}, skipped=True)

    if from_folder is not None:
        if staged and staged.get("files") == _listing(from_folder):
            return already()
        manifest = _upload(s3, bucket, folder_prefix, info, Path(from_folder), None, report)
    else:
        revision = revision_of(info.hub_id)
        if staged and revision and (staged.get("hub_id"), staged.get("revision")) == (info.hub_id, revision):
            return already()
        with tempfile.TemporaryDirectory(prefix="videobot-stage-") as scratch:
            report(f"Downloading {info.hub_id} ({revision or 'latest'}) from the Hugging Face hub...")
            files = download(info.hub_id, Path(scratch) / "download", revision)
            manifest = _upload(s3, bucket, folder_prefix, info, files, revision, report)
    report(f"Staged {info.name}: {len(manifest['files'])} files at s3://{bucket}/{folder_prefix}")
    return _result(info.key, bucket, folder_prefix, manifest, skipped=False)


def _upload(
    s3: Any,
    bucket: str,
    folder_prefix: str,
    info: Any,
    files: Path,
    revision: str | None,
    report: Callable[[str], None],
) -> dict[str, Any]:
    index = files / MODEL_INDEX
    try:
        pipeline = json.loads(index.read_text()).get("_class_name")
    except (OSError, ValueError) as error:
        raise StageError(f"{files} is not a diffusers model folder ({MODEL_INDEX}: {error}).") from None
    if pipeline != info.pipeline:
        raise StageError(f"{files} holds a {pipeline}, but {info.name} needs a {info.pipeline}.")
    listing = _listing(files)
    # Remove the old manifest and index first: until the new ones land, the folder reads as unstaged.
    s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": folder_prefix + MANIFEST}, {"Key": folder_prefix + MODEL_INDEX}]},
    )
    if MODEL_INDEX not in listing:
        raise StageError(f"{files} has no {MODEL_INDEX} at its top.")
    ordered = [*sorted(name for name in listing if name != MODEL_INDEX), MODEL_INDEX]
    for name in ordered:
        report(f"  {name} ({listing[name] / 2**20:.1f} MiB)")
        # upload_file splits big files into parallel multipart uploads.
        s3.upload_file(str(files / name), bucket, folder_prefix + name)
    manifest = {"model": info.key, "hub_id": info.hub_id, "revision": revision, "files": listing}
    s3.put_object(
        Bucket=bucket,
        Key=folder_prefix + MANIFEST,
        Body=json.dumps(manifest, indent=2, sort_keys=True).encode(),
        ContentType="application/json",
    )
    return manifest


def _listing(folder: Path) -> dict[str, int]:
    """Relative path → size of every file worth staging (no hidden files: the hub's .cache)."""
    files = {}
    for path in sorted(Path(folder).rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            files[relative.as_posix()] = path.stat().st_size
    return files


def _read_manifest(s3: Any, bucket: str, folder_prefix: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        body = s3.get_object(Bucket=bucket, Key=folder_prefix + MANIFEST)["Body"].read()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code in ("NoSuchKey", "404"):
            return None
        if code == "NoSuchBucket":
            raise StageError(f"There is no bucket called {bucket}.") from None
        raise
    try:
        manifest = json.loads(body)
    except ValueError:
        return None
    return manifest if isinstance(manifest, dict) else None


def _result(key: str, bucket: str, prefix: str, manifest: Mapping[str, Any], *, skipped: bool) -> StageResult:
    files = manifest.get("files") or {}
    return StageResult(
        model=key,
        bucket=bucket,
        prefix=prefix,
        files=len(files),
        bytes=sum(files.values()),
        revision=manifest.get("revision"),
        skipped=skipped,
    )


def main(argv: list[str] | None = None) -> int:
    description = __doc__.splitlines()[0]
    parser = argparse.ArgumentParser(prog="python -m processing_job.stage", description=description)
    parser.add_argument(
        "model", help="a model key or alias: 2b, 5b, 5b-i2v, 1.5, 1.5-i2v, wan2.2-5b, wan2.1-1.3b"
    )
    parser.add_argument("--bucket", default=os.environ.get(BUCKET_ENV), help=f"default: ${BUCKET_ENV}")
    parser.add_argument(
        "--prefix",
        default=os.environ.get(MODELS_PREFIX_ENV) or DEFAULT_PREFIX,
        help=f"folder for staged models (default: ${MODELS_PREFIX_ENV} or {DEFAULT_PREFIX})",
    )
    parser.add_argument("--from-folder", type=Path, help="upload this downloaded diffusers folder instead")
    parser.add_argument("--force", action="store_true", help="stage again even if already staged")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not args.bucket:
        print(f"error: name the bucket with --bucket or ${BUCKET_ENV}", file=sys.stderr)
        return 2
    try:
        result = stage_model(
            args.model, args.bucket, prefix=args.prefix, from_folder=args.from_folder, force=args.force
        )
    except (UnknownModelError, StageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    state = "already staged" if result.skipped else f"{result.bytes / 2**30:.1f} GiB staged"
    print(f"{result.uri}: {result.files} files, {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
