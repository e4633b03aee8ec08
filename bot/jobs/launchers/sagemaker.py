"""JobLauncher on SageMaker: one processing job per render, the cloud twin of the local runner.

The job's inputs are staged in S3 under `specs/<job_id>/` (the JobSpec and, for image-to-video, a
server-side copy of the picture), mounted at `/opt/ml/processing/input`; the model's staged weights
(`s3://<bucket>/<models prefix>/<model key>/`), when they are there, are mounted at
`/opt/ml/processing/model` with the hub offline; when they are not, the job downloads the model from
the Hugging Face hub once, onto its own volume (`HF_HOME` under `/opt/ml/processing/cache`). Whatever
the job writes to `/opt/ml/processing/output` lands in `renders/<job_id>/`. The job's outcome comes
back as EventBridge state-change events (see `bot.jobs.delivery`); this module never waits for it.

When SageMaker has no room, the render waits in the capacity queue (`bot.jobs.capacity`).

Warm renders (`warm_idle_s` > 0, see `processing_job.warm`): each job, after its render, takes the
renders queued for its model and instance under `warm/` in the bucket, then waits `warm_idle_s`
before it exits. A render goes to a warm job when one can start it within `warm_wait_s` (from the
heartbeats the jobs write); it is offered there, and also put on the capacity queue as the fallback:
when the dispatcher sees it again, still unclaimed and with no warm job able to take it soon, it claims
it (exactly one claim wins) and starts a job of its own. Cancel of a render in a warm job is a marker
the job watches; its end comes as a `Render State Change` event. Each job's budget (MaxRuntime less a
margin, and the cost cap at the instance's price) goes with it: it takes no render that would cross it.

With `weights_read="ranged"` the job reads the staged weights itself, with parallel ranged GETs that
overlap its start-up (`VIDEOBOT_WEIGHTS_S3`); "file" mounts them as a File-mode input, as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.adapters.blobs import render_key, spec_key
from bot.adapters.blobs.s3 import S3BlobStore
from bot.conversation.costs import DEFAULT_PRICES_PER_HOUR
from bot.conversation.ports import Launch, SessionStore
from bot.conversation.sessions import Job
from bot.jobs.capacity import CapacityQueue, NoCapacity, WarmJobSoon, queue_position
from bot.jobs.messages import JobStateChange, job_name, state_change_event
from bot.runtime.aws_settings import AwsSettings, instance_type_for, job_instance_type
from processing_job import warm
from processing_job.models import JOIN, ModelInfo, resolve_model
from processing_job.spec import JobSpec
from processing_job.weights import STAGED_MANIFEST, WEIGHTS_S3_ENV

log = logging.getLogger(__name__)

PROCESSING_ROOT = "/opt/ml/processing"
INPUT_PATH = f"{PROCESSING_ROOT}/input"
MODEL_PATH = f"{PROCESSING_ROOT}/model"
OUTPUT_PATH = f"{PROCESSING_ROOT}/output"
MODEL_CACHE_PATH = f"{PROCESSING_ROOT}/cache"  # on the job's volume, for anything it builds or unpacks
HUB_CACHE_PATH = f"{MODEL_CACHE_PATH}/huggingface"  # a hub download lands on the volume, not the root disk
# How long the answer to "are this model's weights staged?" is kept: staged stays staged; not yet
# staged is asked again soon, so a `make stage-model` is noticed within a minute.
# A join (crossfading at most a storyboard's 8 short clips with ffmpeg) takes seconds; this bounds a
# stuck one on its CPU instance, as MaxRuntimeInSeconds bounds a render.
JOIN_MAX_RUNTIME_S = 600
STAGED_TTL_S = 3600
NOT_STAGED_TTL_S = 60
# SageMaker's answers that mean "no room now, try later" (botocore already retried the throttles).
CAPACITY_ERRORS = frozenset({"ResourceLimitExceeded", "ThrottlingException", "Throttling", "CapacityError"})
TAG_PREFIX = "videobot:"
FINISHED = ("Completed", "Failed", "Stopped")
WARM_JOB_ENDED = "The job that took this render ended ({status}) before the render finished."


@dataclass(frozen=True)
class WarmJobView:
    """A warm job as the sweeper sees it: its last heartbeat and SageMaker's status of it."""

    host: str
    beat: warm.HostBeat
    status: str  # SageMaker's: InProgress, Completed, ... or "" if it has no such job


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
        prices: Mapping[str, float] | None = None,
    ) -> None:
        self.settings = settings
        self.prices = dict(DEFAULT_PRICES_PER_HOUR if prices is None else prices)  # per instance-hour
        self.client = client  # a boto3 SageMaker client
        self.blobs = blobs
        self.queue = queue
        self.store = store
        self._report = report  # job events for renders SageMaker never saw (cancelled while waiting)
        self._staged: dict[str, tuple[bool, float]] = {}  # model key -> (staged?, when asked)
        self._staged_lock = threading.Lock()
        self.clock = time.monotonic
        self.wall = time.time  # heartbeats are in epoch seconds
        self.work = warm.WorkQueue(blobs.client, blobs.bucket)

    @property
    def warm(self) -> bool:
        return self.settings.warm_idle_s > 0

    def _name(self, job_id: str) -> str:
        return job_name(job_id, self.settings.job_name_prefix)

    # the JobLauncher port

    def launch(self, job: Job, spec: JobSpec) -> Launch:
        self._stage_inputs(job, spec)
        if self.warm and spec.mode != JOIN and self._offer_to_warm_job(job, spec):
            return Launch(state="started")
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
        stopped right away (the dispatcher lets a cancelled render go). A render a warm job runs or may
        take is cancelled by claim or marker instead, so the job's other renders go on."""
        if self.warm and self._stop_warm(job_id):
            return
        state = self._describe_job(job_id)
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
        """Create the processing job for a render whose inputs are staged; NoCapacity if no room.
        A render offered to the warm jobs is left to them while one has it or can take it soon
        (WarmJobSoon); otherwise the launcher claims it and starts a job of its own."""
        if self.warm and job.job_spec.mode != JOIN:  # a join runs on a CPU job of its own
            taker = self.work.claimed_by(job.job_id)
            if taker is not None and taker != warm.CLAIMED_BY_LAUNCHER:
                log.info(
                    "render %s is %s",
                    job.job_id,
                    "cancelled" if taker == warm.CLAIMED_BY_CANCEL else f"taken by {taker}",
                )
                return
            if taker is None:
                pool = self._pool(job.job_spec)
                if self._warm_job_can_take(pool, job.job_id):
                    # (one that waited for capacity is offered now: a warm job has room for it)
                    if job.job_id not in [render for _, render in self.work.waiting(pool)]:
                        self.work.offer(pool, job.job_id, int(self.wall() * 1000))
                    raise WarmJobSoon(job.job_id)
                if not self.work.claim(job.job_id, warm.CLAIMED_BY_LAUNCHER):
                    return  # a warm job took it just now
        self._create(job, job.job_spec)

    def describe(self, job_id: str) -> JobStateChange | None:
        """The renderer's view of a render: its own end as a warm job recorded it, else SageMaker's
        view of its job, else, for a render a warm job took, that job's; None if nobody has it."""
        if not self.warm:
            return self._describe_job(job_id)
        outcome = self.work.outcome(job_id)
        if outcome is not None and outcome.get("status") in FINISHED:
            return JobStateChange(
                job_id=job_id,
                status=str(outcome["status"]),
                failure_reason=str(outcome.get("failure_reason") or ""),
                exit_message=str(outcome.get("exit_message") or ""),
            )
        own = self._describe_job(job_id)
        if own is not None:
            return own
        taker = self.work.claimed_by(job_id)
        if taker == warm.CLAIMED_BY_CANCEL:
            return JobStateChange(
                job_id=job_id, status="Stopped", failure_reason="Cancelled before it started."
            )
        if taker is None or taker == warm.CLAIMED_BY_LAUNCHER:
            return None
        host = self._describe_job(taker)
        if host is None:
            return None
        if host.status in FINISHED:
            return JobStateChange(
                job_id=job_id,
                status="Failed",
                failure_reason=WARM_JOB_ENDED.format(status=host.status),
                exit_message=host.exit_message,
            )
        return JobStateChange(job_id=job_id, status="InProgress")

    def warm_jobs(self) -> list[WarmJobView]:
        """Every warm job with a heartbeat, and SageMaker's status of it (for the sweeper)."""
        views = []
        for beat in self.work.hosts():
            state = self._describe_job(beat.host)
            views.append(WarmJobView(host=beat.host, beat=beat, status=state.status if state else ""))
        return views

    def stop_warm_job(self, view: WarmJobView) -> None:
        """Stop a warm job the sweeper found stuck (or forget the heartbeat of one that ended)."""
        if view.status == "InProgress":
            try:
                self.client.stop_processing_job(ProcessingJobName=self._name(view.host))
            except ClientError as error:
                log.info("could not stop the warm job %s: %s", view.host, _code(error))
        self.work.leave(view.beat.pool, view.host)

    def _describe_job(self, job_id: str) -> JobStateChange | None:
        """SageMaker's view of the render's own job, or None if it has no such job."""
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
                weights = self.blobs.uri(self._weights_prefix(info))
                if aws.weights_read == "ranged":
                    environment[WEIGHTS_S3_ENV] = weights  # read by the job while it starts
                else:
                    inputs.append(self._input("model", weights, MODEL_PATH))
                # The weights are staged: never fall back to downloading 20 GB from the hub per render.
                environment["HF_HUB_OFFLINE"] = "1"
            else:
                environment["HF_HOME"] = HUB_CACHE_PATH
        instance_type = job_instance_type(info, spec.mode, aws.instance_types)
        # A join: ffmpeg on a CPU instance of its own (never a warm GPU job's), for minutes at most.
        joining = spec.mode == JOIN
        max_runtime_s = min(aws.max_runtime_s, JOIN_MAX_RUNTIME_S) if joining else aws.max_runtime_s
        if self.warm and not joining:
            environment.update(
                {
                    warm.IDLE_ENV: str(aws.warm_idle_s),
                    warm.BUCKET_ENV: self.blobs.bucket,
                    warm.POOL_ENV: warm.pool_name(info.key, instance_type),
                    warm.HOST_ENV: job.job_id,
                    warm.BUDGET_ENV: str(int(aws.job_budget_s(self.prices.get(instance_type)))),
                }
            )
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
            "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime_s},
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

    # warm jobs

    def _pool(self, spec: JobSpec) -> str:
        info = resolve_model(spec.model)
        return warm.pool_name(info.key, instance_type_for(info, self.settings.instance_types))

    def _warm_job_can_take(self, pool: str, job_id: str | None = None) -> bool:
        """Whether a warm job of `pool` can start a render within `warm_wait_s`, counting the renders
        offered before it (`job_id`'s place in line; all of them for a new one)."""
        hosts = [beat for beat in self.work.hosts(pool) if beat.fresh(self.wall())]
        if not hosts:
            return False
        waiting = [render for _, render in self.work.waiting(pool)]
        ahead = waiting.index(job_id) if job_id in waiting else len(waiting)
        share = ahead // len(hosts)
        now = self.wall()
        return any(beat.can_take(now, ahead=share, within_s=self.settings.warm_wait_s) for beat in hosts)

    def _offer_to_warm_job(self, job: Job, spec: JobSpec) -> bool:
        """Offer the render to the warm jobs of its pool when one can take it soon; False: launch."""
        pool = self._pool(spec)
        try:
            if not self._warm_job_can_take(pool):
                return False
            self.work.offer(pool, job.job_id, int(self.wall() * 1000))
        except (BotoCoreError, ClientError) as error:
            log.warning("could not offer %s to a warm job (%s); starting a job", job.job_id, error)
            return False
        # The fallback: if no warm job claims it in time, the dispatcher starts a job of its own.
        self.queue.put(job.job_id)
        log.info("offered %s to a warm job of %s", job.job_id, pool)
        return True

    def _stop_warm(self, job_id: str) -> bool:
        """Cancel a render the warm jobs have or may take; False: it has a job of its own to stop."""
        if self.work.claim(job_id, warm.CLAIMED_BY_CANCEL):
            own = self._describe_job(job_id)
            if own is None:  # nobody ever ran it, and now nobody will
                self._report(
                    state_change_event(job_id, "Stopped", failure_reason="Cancelled before it started.")
                )
                return True
            # Its own job: a warm one watches for the marker (and may hold other renders by now)
        taker = self.work.claimed_by(job_id)
        if taker == warm.CLAIMED_BY_LAUNCHER:
            return False  # its own job, not a warm one's turn: stopped as before
        own = self._describe_job(job_id)
        if own is not None and own.status != "InProgress":
            return True  # already finishing: its own events tell the thread
        if own is not None and not any(beat.host == job_id for beat in self.work.hosts()):
            return False  # its job hasn't reached the warm loop yet: it holds nothing else, stop it
        self.work.cancel(job_id)
        log.info("asked the warm job running %s to stop it", job_id)
        return True

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
