"""The renders: the job image, the role SageMaker runs it with, and how the bot starts, queues,
stops and sweeps processing jobs.

The job role can read its inputs (`specs/<job>/`: the spec and its picture) and the staged weights
(`models/`), write its outputs (`renders/`), put its progress events, log, and pull its image.
The functions get, each as its handler needs (infra/stack.py): starting renders (create and tag
processing jobs named with this stack's prefix only, on the configured instance types only, and
pass the job role to SageMaker, no role to anyone else), watching them (describe), stopping them.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from constructs import Construct

from bot.jobs.messages import PROGRESS_SOURCE
from bot.runtime.aws_settings import CPU_INSTANCE
from infra.bot_runtime import BotRuntime
from infra.bundle import REPO_ROOT
from infra.nag import acknowledge, wildcard_resource
from infra.network import JobNetwork
from infra.queues import dead_letter_queue, secure_queue
from infra.settings import StackSettings
from infra.storage import MODELS_PREFIX, RENDERS_PREFIX, SPECS_PREFIX, WARM_PREFIX

DISPATCH_HANDLER = "bot.runtime.lambda_handlers.dispatch_queued_renders"
SWEEP_HANDLER = "bot.runtime.lambda_handlers.sweep_stale_renders"
JOB_IMAGE_DIRECTORY = REPO_ROOT / "processing_job"
JOB_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"  # SageMaker's own, shared by every processing job
JOB_INPUT_PREFIXES = (SPECS_PREFIX, MODELS_PREFIX, WARM_PREFIX)
DISPATCHER_TIMEOUT = cdk.Duration.seconds(60)
SWEEP_EVERY = cdk.Duration.minutes(5)
# The dispatcher backs off up to 15 minutes a try (bot/jobs/capacity.py) and lets a render go after
# VIDEOBOT_MAX_QUEUE_WAIT_S (6 h): far fewer receives than this, so only a broken message lands in
# the dead-letter queue.
CAPACITY_MAX_RECEIVES = 100


class VideoJobs(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime: BotRuntime,
        bucket: s3.IBucket,
        settings: StackSettings,
        job_name_prefix: str,
        progress_bus: events.IEventBus,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.job_name_prefix = job_name_prefix
        self.our_jobs = stack.format_arn(
            service="sagemaker", resource="processing-job", resource_name=f"{job_name_prefix}*"
        )
        # CDK only stages the folder at synth; `cdk deploy` builds and pushes it (Docker needed then).
        self.image = ecr_assets.DockerImageAsset(
            self,
            "JobImage",
            directory=str(JOB_IMAGE_DIRECTORY),
            platform=ecr_assets.Platform.LINUX_AMD64,  # SageMaker's GPU instances are x86_64
        )
        self.network = (
            JobNetwork(self, "Network", log_retention=runtime.log_retention) if settings.job_vpc else None
        )
        self.role = self._job_role(bucket, progress_bus)
        # Each model's GPU, and the CPU instance a storyboard's join runs on (it renders nothing).
        self.instance_types = sorted(set(settings.instance_types.values()) | {CPU_INSTANCE})

        self.queue_dead_letters = dead_letter_queue(self, "CapacityDeadLetters")
        self.queue = secure_queue(
            self,
            "CapacityQueue",
            # Lambda's advice for an SQS event source: six times the function's timeout.
            visibility_timeout=cdk.Duration.seconds(DISPATCHER_TIMEOUT.to_seconds() * 6),
            retention_period=cdk.Duration.days(4),
            dead_letter_queue={"queue": self.queue_dead_letters, "max_receive_count": CAPACITY_MAX_RECEIVES},
        )
        self.dispatcher = runtime.add_function(
            self,
            "Dispatcher",
            handler=DISPATCH_HANDLER,
            description="videobot: starts renders that waited in the capacity queue.",
            timeout=DISPATCHER_TIMEOUT,
            memory_size=512,
        )
        self.dispatcher.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=5,
                # A render still without room goes back alone; its neighbours in the batch don't.
                report_batch_item_failures=True,
                max_concurrency=2,
            )
        )
        self.sweeper = runtime.add_function(
            self,
            "Sweeper",
            handler=SWEEP_HANDLER,
            description="videobot: finishes renders whose SageMaker events never arrived.",
            # It may deliver a finished video itself, as the job-events function would.
            timeout=cdk.Duration.minutes(5),
            # The next sweep is five minutes away; a retry now would only race it.
            retry_attempts=0,
        )
        events.Rule(
            self,
            "SweepSchedule",
            description="videobot: look for stale renders",
            schedule=events.Schedule.rate(SWEEP_EVERY),
            targets=[targets.LambdaFunction(self.sweeper, retry_attempts=0)],
        )

    @property
    def subnet_ids(self) -> list[str]:
        return [subnet.subnet_id for subnet in self.network.subnets] if self.network else []

    @property
    def security_group_ids(self) -> list[str]:
        return [self.network.job_security_group.security_group_id] if self.network else []

    def _job_role(self, bucket: s3.IBucket, progress_bus: events.IEventBus) -> iam.Role:
        stack = cdk.Stack.of(self)
        role = iam.Role(
            self,
            "JobRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="videobot render jobs (SageMaker): read inputs and weights, write renders.",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadInputsAndWeights",
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{prefix}*") for prefix in JOB_INPUT_PREFIXES],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ListInputsAndWeights",  # SageMaker lists an S3Prefix input before downloading it
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in JOB_INPUT_PREFIXES]}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteRenders",
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[bucket.arn_for_objects(f"{prefix}*") for prefix in (RENDERS_PREFIX, WARM_PREFIX)],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                # A warm job takes queued renders off the line and clears its heartbeat when it exits.
                sid="TakeWarmWork",
                actions=["s3:DeleteObject"],
                resources=[bucket.arn_for_objects(f"{WARM_PREFIX}*")],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReportProgress",
                actions=["events:PutEvents"],
                resources=[progress_bus.event_bus_arn],
                conditions={"StringEquals": {"events:source": PROGRESS_SOURCE}},
            )
        )
        log_group = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=JOB_LOG_GROUP,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="CreateJobLogGroup",
                actions=["logs:CreateLogGroup", "logs:DescribeLogStreams"],
                resources=[log_group],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteJobLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{log_group}:log-stream:{self.job_name_prefix}*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                # The instance metrics (GPU use and memory) of each job, in SageMaker's namespace only.
                sid="PublishJobMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": JOB_LOG_GROUP}},
            )
        )
        self.image.repository.grant_pull(role)
        for prefix, why in (
            (SPECS_PREFIX, "its own render's folder: the job id is only known at launch"),
            (MODELS_PREFIX, "the staged weights, one folder of many files per model"),
            (RENDERS_PREFIX, "its own render's output folder, named at launch"),
            (WARM_PREFIX, "the warm jobs' hand-over: renders queued, claimed and ended, named at run time"),
        ):
            acknowledge(
                role,
                wildcard_resource(self, bucket.arn_for_objects(f"{prefix}*")),
                f"The job reaches objects under {prefix} only ({why}); nothing else in the bucket.",
            )
        acknowledge(
            role,
            wildcard_resource(self, f"{log_group}:log-stream:{self.job_name_prefix}*"),
            "SageMaker names each job's log streams after the job; the role writes only streams of "
            f"this stack's jobs ({self.job_name_prefix}*) in SageMaker's processing-job log group.",
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "Actions that take no resource: ecr:GetAuthorizationToken (pulls themselves are limited to "
            "the asset repository), cloudwatch:PutMetricData (limited to SageMaker's namespace by "
            "condition), and, with job_vpc, the EC2 network-interface calls SageMaker makes to place "
            "the job in the VPC (the interfaces don't exist beforehand; Describe* has no resource).",
        )
        if self.network:
            role.add_to_policy(
                iam.PolicyStatement(
                    # SageMaker attaches the job to the VPC through ENIs it makes with this role.
                    # EC2's Describe* calls take no resource, and the ENIs don't exist beforehand.
                    sid="AttachJobsToVpc",
                    actions=[
                        "ec2:CreateNetworkInterface",
                        "ec2:CreateNetworkInterfacePermission",
                        "ec2:DeleteNetworkInterface",
                        "ec2:DeleteNetworkInterfacePermission",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DescribeVpcs",
                        "ec2:DescribeDhcpOptions",
                        "ec2:DescribeSubnets",
                        "ec2:DescribeSecurityGroups",
                    ],
                    resources=["*"],
                )
            )
        return role

    def allow_starting_renders(self, role: iam.IRole) -> None:
        """CreateProcessingJob (with its tags) for this stack's job names on the chosen GPUs (and the
        CPU instance of joins), and
        passing the job role to SageMaker."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="StartRenders",
                actions=["sagemaker:CreateProcessingJob"],
                resources=[self.our_jobs],
                # Only the GPUs this deployment chose: nobody can talk the bot into a p5.48xlarge.
                conditions={"ForAllValues:StringEquals": {"sagemaker:InstanceTypes": self.instance_types}},
            )
        )
        role.add_to_principal_policy(
            # CreateProcessingJob with tags is also authorized as AddTags on the new job.
            iam.PolicyStatement(sid="TagRenders", actions=["sagemaker:AddTags"], resources=[self.our_jobs])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PassTheJobRole",
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        self._acknowledge_our_jobs(role)

    def allow_watching_renders(self, role: iam.IRole) -> None:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WatchRenders", actions=["sagemaker:DescribeProcessingJob"], resources=[self.our_jobs]
            )
        )
        self._acknowledge_our_jobs(role)

    def allow_stopping_renders(self, role: iam.IRole) -> None:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="StopRenders", actions=["sagemaker:StopProcessingJob"], resources=[self.our_jobs]
            )
        )
        self._acknowledge_our_jobs(role)

    def _acknowledge_our_jobs(self, role: iam.IRole) -> None:
        acknowledge(
            role,
            wildcard_resource(self, self.our_jobs),
            "Each render is its own processing job, named at launch; the function may touch only jobs "
            f"named with this stack's prefix ({self.job_name_prefix}*).",
        )
