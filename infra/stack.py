"""The videobot stack: one construct per concern, as in the README's picture.

Storage         sessions table, media bucket (+ access logs)
BotRuntime      what the bot's five functions share: code asset, role, environment, log retention
SlackFrontDoor  Slack's requests -> the bot (Function URL), the Slack secret, Bedrock access, and the
                function that explains lazy listeners that died (from their dead letters)
VideoJobs       the job image and role, SageMaker access, the capacity queue + dispatcher, the sweeper
JobEvents       SageMaker state changes and progress -> the job-events function
Operations      alarms
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from infra.bot_runtime import BotRuntime
from infra.environment import StackResources, bot_environment
from infra.job_events import JobEvents
from infra.operations import Operations
from infra.settings import StackSettings
from infra.slack_front_door import SlackFrontDoor
from infra.storage import Storage
from infra.video_jobs import VideoJobs


class VideobotStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StackSettings | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(
            scope, construct_id, description="videobot: a Slack app that makes short videos", **kwargs
        )
        settings = settings or StackSettings.from_context(self.node.try_get_context)
        self.settings = settings
        cdk.Tags.of(self).add("project", "videobot")

        self.storage = Storage(
            self,
            "Storage",
            upload_retention_days=settings.upload_retention_days,
            render_retention_days=settings.render_retention_days,
        )
        self.bot = BotRuntime(self, "Bot", log_retention_days=settings.log_retention_days)
        self.storage.grant_bot(self.bot.role)
        self.slack = SlackFrontDoor(self, "Slack", runtime=self.bot, settings=settings)
        self.jobs = VideoJobs(
            self,
            "Jobs",
            runtime=self.bot,
            bucket=self.storage.bucket,
            settings=settings,
        )
        self.job_events = JobEvents(self, "JobEvents", runtime=self.bot)
        self.bot.set_environment(
            bot_environment(
                settings,
                StackResources(
                    table=self.storage.table.table_name,
                    bucket=self.storage.bucket.bucket_name,
                    slack_secret_arn=self.slack.secret.secret_arn,
                    job_image_uri=self.jobs.image.image_uri,
                    job_role_arn=self.jobs.role.role_arn,
                    capacity_queue_url=self.jobs.queue.queue_url,
                    subnets=",".join(self.jobs.subnet_ids),
                    security_groups=",".join(self.jobs.security_group_ids),
                ),
            )
        )

        self.operations = Operations(self, "Operations", alarm_email=settings.alarm_email)
        for name, function in (
            ("SlackRequests", self.slack.function),
            ("JobEvents", self.job_events.function),
            ("Dispatcher", self.jobs.dispatcher),
            ("Sweeper", self.jobs.sweeper),
            ("UnfinishedRequests", self.slack.unfinished),
        ):
            self.operations.watch_function(function, name)
        self.operations.watch_throttles(self.slack.function, "SlackRequests")
        self.operations.watch_dead_letters_sent(self.slack.dead_letters, "SlackRequests")
        for name, queue in (
            ("JobEvents", self.job_events.dead_letters),
            ("CapacityQueue", self.jobs.queue_dead_letters),
        ):
            self.operations.watch_dead_letters(queue, name)
        self.operations.watch_queue_wait(self.jobs.queue)
        self.operations.watch_failed_renders(self.job_events.failures, settings.failed_renders_per_hour_alarm)

        cdk.CfnOutput(
            self,
            "SlackRequestUrl",
            value=self.slack.url.url,
            description="Paste into manifest.yml in place of REQUEST_URL (commands, events, interactivity).",
        )
        cdk.CfnOutput(
            self,
            "MediaBucketName",
            value=self.storage.bucket.bucket_name,
            description="Images, specs, renders, and the staged weights under models/.",
        )
        cdk.CfnOutput(
            self,
            "SlackSecretName",
            value=self.slack.secret.secret_name,
            description='Fill with {"signing_secret": "...", "bot_token": "xoxb-..."} (see the README).',
        )
