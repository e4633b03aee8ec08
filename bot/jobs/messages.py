"""The shapes of job events: SageMaker's state changes and the render's own progress, as EventBridge
delivers them. The local runner builds the very same envelopes, so one handler serves both.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

JOB_NAME_PREFIX = "videobot-"  # locally; each stack sets its own (bot/runtime/aws_settings.py)
JOB_NAME_PREFIX_ENV = "VIDEOBOT_JOB_NAME_PREFIX"
STATE_CHANGE_SOURCE = "aws.sagemaker"
STATE_CHANGE_TYPE = "SageMaker Processing Job State Change"
PROGRESS_SOURCE = "videobot.render"
PROGRESS_TYPE = "Render Progress"
# One render's own state change, from a warm job that runs several renders (processing_job/warm.py):
# the job's state change names only its first render, so each render's end travels on its own.
RENDER_STATE_TYPE = "Render State Change"
STATUSES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")
PHASES = ("loading", "encoding", "denoising", "decoding", "writing", "done")


@dataclass(frozen=True)
class JobStateChange:
    job_id: str
    status: str
    failure_reason: str = ""
    exit_message: str = ""


@dataclass(frozen=True)
class JobProgress:
    job_id: str
    phase: str
    step: int
    total: int
    elapsed_s: float


def job_name_prefix() -> str:
    """This deployment's job-name prefix: two stacks in one account must not take each other's jobs."""
    return os.environ.get(JOB_NAME_PREFIX_ENV) or JOB_NAME_PREFIX


def job_name(job_id: str, prefix: str | None = None) -> str:
    """The SageMaker processing job name for one of our jobs."""
    return f"{prefix or job_name_prefix()}{job_id}"


def job_id_from_name(name: str, prefix: str | None = None) -> str | None:
    prefix = prefix or job_name_prefix()
    return name[len(prefix) :] if name.startswith(prefix) else None


def _envelope(source: str, detail_type: str, detail: dict[str, Any], resources: list[str]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": "000000000000",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "local",
        "resources": resources,
        "detail": detail,
    }


def state_change_event(
    job_id: str, status: str, *, failure_reason: str = "", exit_message: str = ""
) -> dict[str, Any]:
    """A `SageMaker Processing Job State Change` event as EventBridge delivers it."""
    name = job_name(job_id)
    arn = f"arn:aws:sagemaker:local:000000000000:processing-job/{name}"
    detail: dict[str, Any] = {
        "ProcessingJobName": name,
        "ProcessingJobArn": arn,
        "ProcessingJobStatus": status,
        "LastModifiedTime": int(time.time() * 1000),
    }
    if failure_reason:
        detail["FailureReason"] = failure_reason
    if exit_message:
        detail["ExitMessage"] = exit_message
    return _envelope(STATE_CHANGE_SOURCE, STATE_CHANGE_TYPE, detail, [arn])


def progress_event(job_id: str, *, phase: str, step: int = 0, total: int = 0, elapsed_s: float = 0.0) -> dict:
    """The render's own progress event (the job puts these on EventBridge in AWS)."""
    detail = {"job_id": job_id, "phase": phase, "step": step, "total": total, "elapsed_s": elapsed_s}
    return _envelope(PROGRESS_SOURCE, PROGRESS_TYPE, detail, [])


def render_state_event(
    job_id: str, status: str, *, failure_reason: str = "", exit_message: str = "", host: str = ""
) -> dict[str, Any]:
    """A warm job's `Render State Change` event for one of its renders, as EventBridge delivers it."""
    detail = {
        "job_id": job_id,
        "status": status,
        "failure_reason": failure_reason,
        "exit_message": exit_message,
        "host": host,
    }
    return _envelope(PROGRESS_SOURCE, RENDER_STATE_TYPE, detail, [])


def parse_job_event(event: Mapping[str, Any]) -> JobStateChange | JobProgress | None:
    """The event as one of ours, or None for anything else (other jobs, other shapes)."""
    if not isinstance(event, Mapping):
        return None
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        return None
    source, detail_type = event.get("source"), event.get("detail-type")
    if source == STATE_CHANGE_SOURCE and detail_type == STATE_CHANGE_TYPE:
        name, status = detail.get("ProcessingJobName"), detail.get("ProcessingJobStatus")
        job_id = job_id_from_name(name) if isinstance(name, str) else None
        if not job_id or status not in STATUSES:
            return None
        return JobStateChange(
            job_id=job_id,
            status=status,
            failure_reason=_text(detail.get("FailureReason")),
            exit_message=_text(detail.get("ExitMessage")),
        )
    if source == PROGRESS_SOURCE and detail_type == RENDER_STATE_TYPE:
        job_id, status = detail.get("job_id"), detail.get("status")
        if not isinstance(job_id, str) or not job_id or status not in STATUSES:
            return None
        return JobStateChange(
            job_id=job_id,
            status=status,
            failure_reason=_text(detail.get("failure_reason")),
            exit_message=_text(detail.get("exit_message")),
        )
    if source == PROGRESS_SOURCE and detail_type == PROGRESS_TYPE:
        job_id, phase = detail.get("job_id"), detail.get("phase")
        if not isinstance(job_id, str) or phase not in PHASES:
            return None
        try:
            return JobProgress(
                job_id=job_id,
                phase=phase,
                step=max(0, int(detail.get("step", 0))),
                total=max(0, int(detail.get("total", 0))),
                elapsed_s=max(0.0, float(detail.get("elapsed_s", 0.0))),
            )
        except (TypeError, ValueError):
            return None
    return None


def _text(value: object, limit: int = 1024) -> str:
    return value[:limit] if isinstance(value, str) else ""
