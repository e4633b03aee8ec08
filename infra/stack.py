"""The videobot stack: one construct per concern, as in the README's picture.

Storage         sessions table, media bucket (+ access logs)
BotRuntime      what the bot's five functions share: code asset, environment, log retention
SlackFrontDoor  Slack's requests -> the bot (Function URL), the Slack secret, Bedrock access (and the
                optional guardrail), and the function that explains lazy listeners that died
VideoJobs       the job image and role, the capacity queue + dispatcher, the sweeper
JobEvents       SageMaker state changes and progress -> the job-events function
Operations      alarms

Each function has its own role, granted below what its handler calls (bot/runtime/lambda_handlers.py), and no
more.
Everything that names jobs (their names, the rules, the IAM patterns) uses this stack's job-name
prefix, so two stacks in one account and region (staging, production) never take each other's jobs.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from bot.runtime.aws_settings import job_name_prefix_for
from infra.bot_runtime import BotRuntime
from infra.environment import StackResources, bot_environment
from infra.job_event_rules import JobEvents
from infra.next_steps import MANIFEST_OUTPUT, STAGE_OUTPUT
from infra.operations import Operations
from infra.settings import StackSettings
from infra.slack_front_door import SlackFrontDoor
from infra.storage import IMAGES_PREFIX, MODELS_PREFIX, RENDERS_PREFIX, SPECS_PREFIX, Storage
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
        self.job_name_prefix = job_name_prefix_for(self.stack_name)
        self.bot = BotRuntime(self, "Bot", log_retention_days=settings.log_retention_days)
        self.slack = SlackFrontDoor(self, "Slack", runtime=self.bot, settings=settings)
        self.job_events = JobEvents(self, "JobEvents", runtime=self.bot, job_name_prefix=self.job_name_prefix)
        self.jobs = VideoJobs(
            self,
            "Jobs",
            runtime=self.bot,
            bucket=self.storage.bucket,
            settings=settings,
            job_name_prefix=self.job_name_prefix,
            progress_bus=self.job_events.progress_bus,
        )
        self._grant_each_function_its_work()
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
                    job_name_prefix=self.job_name_prefix,
                    progress_bus=self.job_events.progress_bus.event_bus_name,
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
            description="Slack's request URL: python -m bot manifest --request-url <this URL> (README).",
        )
        cdk.CfnOutput(
            self,
            "MediaBucketName",
            value=self.storage.bucket.bucket_name,
            description="Images, specs, renders, and the staged weights under models/.",
        )
        # The commands to run next, with this stack's names in them (`make deploy` prints them last).
        cdk.CfnOutput(
            self,
            STAGE_OUTPUT,
            value=f"make stage-model MODEL={settings.default_model} BUCKET={self.storage.bucket.bucket_name}",
            description="Stage the default model's weights once (recommended; required with job_vpc).",
        )
        cdk.CfnOutput(
            self,
            MANIFEST_OUTPUT,
            value=f".venv/bin/python -m bot manifest --request-url {self.slack.url.url}",
            description="Prints the Slack app manifest with this deployment's request URL.",
        )
        cdk.CfnOutput(
            self,
            "SlackSecretName",
            value=self.slack.secret.secret_name,
            description='Fill with {"signing_secret": "...", "bot_token": "xoxb-..."} (see the README).',
        )

    def _grant_each_function_its_work(self) -> None:
        """What each handler of bot/runtime/lambda_handlers.py calls, granted to its function's role alone.

        Every handler builds the `Services` (bot/runtime/compose.py), which reads the Slack secret.
        - Slack requests (and their lazy listeners): sessions; shared pictures in, each render's spec
          and picture out; start renders (and queue them when SageMaker has no room), look at and
          stop them (Cancel); invoke itself, Bedrock (slack_front_door.py); the Home tab reads renders'
          posters and deletes the renders of deleted videos.
        - Job events: sessions; read renders to post them; describe a failed job for its message; and
          for storyboards, start the shots that waited for a slot and the join of the cut (its spec and
          the shots' clips copied beside it), queueing them when SageMaker has no room.
        - Dispatcher: sessions; start renders (its queue's consume rights come with its event source).
        - Sweeper: sessions; describe renders, and deliver finished ones as the job-events function would
          (so, for storyboards, start renders as it does).
        - Unfinished requests: one claim per dead letter (its queue comes with its event source).
        """
        role = self.bot.role_of
        slack, unfinished = role(self.slack.function), role(self.slack.unfinished)
        job_events, dispatcher, sweeper = (
            role(self.job_events.function),
            role(self.jobs.dispatcher),
            role(self.jobs.sweeper),
        )
        for each in (slack, job_events, dispatcher, sweeper, unfinished):
            self.slack.secret.grant_read(each)
        for each in (slack, job_events, dispatcher, sweeper):
            self.storage.grant_sessions(each)
        self.storage.grant_claims(unfinished)
        # Launching looks for the staged weights' manifest under models/ (a LIST), never reads them.
        # The Home tab reads a render's poster to show it, and deletes a render its owner deleted; a
        # storyboard's shot or cut reads earlier renders' clips (copied into its spec's folder).
        # Extend, Smooth and Upscale copy a finished render's video beside their spec.
        self.storage.grant_media(
            slack,
            read=(IMAGES_PREFIX, RENDERS_PREFIX),
            write=(IMAGES_PREFIX, SPECS_PREFIX),
            list_only=(MODELS_PREFIX,),
            delete=(RENDERS_PREFIX,),
        )
        self.storage.grant_media(dispatcher, list_only=(MODELS_PREFIX,))
        for each in (job_events, sweeper):
            self.storage.grant_media(
                each, read=(RENDERS_PREFIX,), write=(SPECS_PREFIX,), list_only=(MODELS_PREFIX,)
            )
        for each in (slack, dispatcher, job_events, sweeper):
            self.jobs.allow_starting_renders(each)
        for each in (slack, job_events, sweeper):
            self.jobs.allow_watching_renders(each)
        self.jobs.allow_stopping_renders(slack)
        for each in (slack, job_events, sweeper):
            self.jobs.queue.grant_send_messages(each)
