"""JobLauncher on SageMaker: one processing job per render, the cloud twin of the local runner.

The job's inputs are staged in S3 under `specs/<job_id>/` (the JobSpec and, for image-to-video, a
server-side copy of the picture), mounted at `/opt/ml/processing/input`; the model's staged weights
(`s3://<bucket>/<models prefix>/<model key>/`), when they are there, are mounted at
`/opt/ml/processing/model` with the hub offline; when they are not, the job downloads the model from
the Hugging Face hub once, onto its own volume (`HF_HOME` under `/opt/ml/processing/cache`). Whatever
the job writes to `/opt/ml/processing/output` lands in `renders/<job_id>/`. The job's outcome comes
back as EventBridge state-change events (see `bot.jobs.delivery`); this module never waits for it.

When SageMaker has no room, the render waits in the capacity queue (`bot.jobs.capacity`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.adapters.blobs import render_key, spec_key
from bot.adapters.blobs.s3 import S3BlobStore
from bot.conversation.ports import Launch, SessionStore
from bot.conversation.sessions import Job
from bot.jobs.capacity import CapacityQueue, NoCapacity, queue_position
from bot.jobs.messages import JobStateChange, job_name, state_change_event
from bot.runtime.aws_settings import AwsSettings, instance_type_for
from processing_job.models import ModelInfo, resolve_model
from processing_job.spec import JobSpec
from processing_job.weights import STAGED_MANIFEST

log = logging.getLogger(__name__)

PROCESSING_ROOT = "/opt/ml/processing"
INPUT_PATH = f"{PROCESSING_ROOT}/input"
MODEL_PATH = f"{PROCESSING_ROOT}/model"
OUTPUT_PATH = f"{PROCESSING_ROOT}/output"
MODEL_CACHE_PATH = f"{PROCESSING_ROOT}/cache"  # on the job's volume, for anything it builds or unpacks
HUB_CACHE_PATH = f"{MODEL_CACHE_PATH}/huggingface"  # a hub download lands on the volume, not the root disk
# How long the answer to "are this model's weights staged?" is kept: staged stays staged; not yet
# staged is asked again soon, so a `make stage-model` is noticed within a minute.
STAGED_TTL_S = 3600
NOT_STAGED_TTL_S = 60
# SageMaker's answers that mean "no room now, try later" (botocore already retried the throttles).
CAPACITY_ERRORS = frozenset({"ResourceLimitExceeded", "ThrottlingException", "Throttling", "CapacityError"})
TAG_PREFIX = "videobot:"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class SageMakerJobLauncher:
    def __init__(
        self,
        *,
        settings: AwsSettings,
        client: Any,
        blobs: S3BlobStore,
        queue: CapacityQueue,
        store: SessionStore,
        report: Callable[[dict[str, Any]], None],
    ) -> None:
        self.settings = settings
        self.client = client  # a boto3 SageMaker client
        self.blobs = blobs
        self.queue = queue
        self.store = store
        self._report = report  # job events for renders SageMaker never saw (cancelled while waiting)
        self._staged: dict[str, tuple[bool, float]] = {}  # model key -> (staged?, when asked)
        self._staged_lock = threading.Lock()
        self.clock = time.monotonic

    def _name(self, job_id: str) -> str:
        return job_name(job_id, self.settings.job_name_prefix)

    # the JobLauncher port

    def launch(self, job: Job, spec: JobSpec) -> Launch:
        self._stage_inputs(job, spec)
        try:
            self._create(job, spec)
        except NoCapacity:
            self.queue.put(job.job_id)
            position = queue_position(self.store, job)
            log.info("no SageMaker capacity for %s; waiting, number %d in line", job.job_id, position)
            return Launch(state="queued", queue_position=position)
        return Launch(state="started")

    def stop(self, job_id: str) -> None:
        """Cancel: stop the processing job, or, for a render still waiting for capacity, report it
        stopped right away (the dispatcher lets a cancelled render go)."""
        state = self.describe(job_id)
        if state is None:
            self._report(state_change_event(job_id, "Stopped", failure_reason="Cancelled before it started."))
            return
        if state.status != "InProgress":
            return  # already finishing: its own event tells the thread
        try:
            self.client.stop_processing_job(ProcessingJobName=self._name(job_id))
        except ClientError as error:
            # It finished between the two calls; its state-change event is on the way.
            log.info("could not stop %s: %s", job_id, _code(error))

    # for the dispatcher and the sweeper

    def start(self, job: Job) -> None:
        """Create the processing job for a render whose inputs are staged; NoCapacity if no room."""
        self._create(job, job.job_spec)

    def describe(self, job_id: str) -> JobStateChange | None:
        """SageMaker's view of the render, or None if it has no such job."""
        try:
            found = self.client.describe_processing_job(ProcessingJobName=self._name(job_id))
        except ClientError as error:
            if _code(error) in ("ValidationException", "ResourceNotFound"):
                return None
            raise
        return JobStateChange(
            job_id=job_id,
            status=str(found.get("ProcessingJobStatus", "")),
            failure_reason=str(found.get("FailureReason") or ""),
            exit_message=str(found.get("ExitMessage") or ""),
        )

    # the request

    def processing_job_request(self, job: Job, spec: JobSpec) -> dict[str, Any]:
        """The CreateProcessingJob parameters for one render."""
        aws = self.settings
        info = resolve_model(spec.model)
        inputs = [self._input("spec", self.blobs.uri(f"specs/{job.job_id}/"), INPUT_PATH)]
        environment = {
            "VIDEOBOT_PROGRESS": "eventbridge",
            "VIDEOBOT_EVENT_BUS": aws.event_bus,
            "VIDEOBOT_MODEL_CACHE": MODEL_CACHE_PATH,
        }
        # Smoothing, upscaling or joining clips loads no model: no weights to copy in, none to download.
        if not info.built_locally and spec.renders:
            if self.weights_staged(info):
                inputs.append(self._input("model", self.blobs.uri(self._weights_prefix(info)), MODEL_PATH))
                # The weights are staged: never fall back to downloading 20 GB from the hub per render.
                environment["HF_HUB_OFFLINE"] = "1"
            else:
                environment["HF_HOME"] = HUB_CACHE_PATH
        instance_type = instance_type_for(info, aws.instance_types)
        network: dict[str, Any] = {
            "EnableInterContainerTrafficEncryption": True,
            "EnableNetworkIsolation": False,
        }
        if aws.subnets:
            network["VpcConfig"] = {
                "Subnets": list(aws.subnets),
                "SecurityGroupIds": list(aws.security_groups),
            }
        return {
            "ProcessingJobName": self._name(job.job_id),
            "RoleArn": aws.job_role_arn,
            "AppSpecification": {"ImageUri": aws.job_image_uri},
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": instance_type,
                    "VolumeSizeInGB": aws.volume_gb,
                }
            },
            "ProcessingInputs": inputs,
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "render",
                        "S3Output": {
                            "S3Uri": self.blobs.uri(render_key(job.job_id, "")),
                            "LocalPath": OUTPUT_PATH,
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": aws.max_runtime_s},
            "Environment": environment,
            "NetworkConfig": network,
            "Tags": [
                {"Key": f"{TAG_PREFIX}job-id", "Value": job.job_id},
                {"Key": f"{TAG_PREFIX}channel", "Value": job.channel},
                {"Key": f"{TAG_PREFIX}owner", "Value": job.owner},
                {"Key": f"{TAG_PREFIX}model", "Value": info.key},
            ],
        }

    def weights_staged(self, info: ModelInfo) -> bool:
        """Whether `make stage-model` finished for this model: its manifest, which staging writes
        last, is in the bucket. One cheap LIST per model and container, remembered a while."""
        source = self.settings.weights_source
        if source != "auto":
            return source == "staged"
        now = self.clock()
        with self._staged_lock:
            known = self._staged.get(info.key)
            if known and now - known[1] < (STAGED_TTL_S if known[0] else NOT_STAGED_TTL_S):
                return known[0]
        manifest = self._weights_prefix(info) + STAGED_MANIFEST
        try:
            found = self.blobs.client.list_objects_v2(Bucket=self.blobs.bucket, Prefix=manifest, MaxKeys=1)
        except (BotoCoreError, ClientError) as error:
            # Not knowing is no reason to refuse a render: the hub works either way (and is asked again).
            log.warning("could not tell whether %s is staged (%s); the job uses the hub", info.key, error)
            return False
        staged = any(item.get("Key") == manifest for item in found.get("Contents", []))
        with self._staged_lock:
            self._staged[info.key] = (staged, now)
        if not staged:
            log.info("no staged weights for %s: the job downloads them from the hub", info.key)
        return staged

    def _weights_prefix(self, info: ModelInfo) -> str:
        return f"{self.settings.models_prefix.strip('/')}/{info.key}/"

    @staticmethod
    def _input(name: str, uri: str, local_path: str) -> dict[str, Any]:
        return {
            "InputName": name,
            "S3Input": {
                "S3Uri": uri,
                "LocalPath": local_path,
                "S3DataType": "S3Prefix",
                "S3InputMode": "File",
                "S3DataDistributionType": "FullyReplicated",
            },
        }

    def _stage_inputs(self, job: Job, spec: JobSpec) -> None:
        self.blobs.put(spec_key(job.job_id), spec.to_json().encode(), content_type="application/json")
        # One input folder holds the spec and what it reads (picture, video, clips), as the job expects.
        for name, key in job.input_blobs(spec).items():
            self.blobs.copy(key, f"specs/{job.job_id}/{name}")

    def _create(self, job: Job, spec: JobSpec) -> None:
        try:
            self.client.create_processing_job(**self.processing_job_request(job, spec))
        except ClientError as error:
            code = _code(error)
            if code in CAPACITY_ERRORS:
                raise NoCapacity(code) from None
            if code == "ResourceInUse":
                log.info("processing job for %s exists already", job.job_id)  # a repeated launch
                return
            raise
        log.info("started processing job %s", self._name(job.job_id))
