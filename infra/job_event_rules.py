"""Job events → the job-events function: SageMaker's state changes for this stack's processing jobs
(on the default bus, where SageMaker puts them, matched by this stack's job-name prefix), and the
renders' own progress events (on a bus of this stack's own, so a second stack in the account never
sees them), each with retries and a dead-letter queue.

A third rule sends each failed render to a topic (subscribe to hear of every one); its invocation
count is the failed-renders metric the alarm watches.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sns as sns
from constructs import Construct

from bot.jobs.messages import (
    PROGRESS_SOURCE,
    PROGRESS_TYPE,
    RENDER_STATE_TYPE,
    STATE_CHANGE_SOURCE,
    STATE_CHANGE_TYPE,
)
from infra.bot_runtime import BotRuntime
from infra.queues import dead_letter_queue

JOB_EVENTS_HANDLER = "bot.runtime.lambda_handlers.handle_job_event"

JOB_NAME = events.EventField.from_path("$.detail.ProcessingJobName")
FAILURE_REASON = events.EventField.from_path("$.detail.FailureReason")


def state_changes(job_name_prefix: str, *statuses: str) -> events.EventPattern:
    """SageMaker's state changes of this stack's jobs (all, or those with `statuses`)."""
    detail: dict[str, object] = {"ProcessingJobName": events.Match.prefix(job_name_prefix)}
    if statuses:
        detail["ProcessingJobStatus"] = list(statuses)
    return events.EventPattern(source=[STATE_CHANGE_SOURCE], detail_type=[STATE_CHANGE_TYPE], detail=detail)


PROGRESS = events.EventPattern(source=[PROGRESS_SOURCE], detail_type=[PROGRESS_TYPE])
# A warm job's renders each end with one of these (the job's own state change names only its first).
RENDER_STATES = events.EventPattern(source=[PROGRESS_SOURCE], detail_type=[RENDER_STATE_TYPE])


class JobEvents(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, runtime: BotRuntime, job_name_prefix: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.progress_bus = events.EventBus(
            self, "ProgressBus", description="videobot: the renders' progress events, this stack's only"
        )
        self.dead_letters = dead_letter_queue(self, "DeadLetters")
        self.function = runtime.add_function(
            self,
            "Handler",
            handler=JOB_EVENTS_HANDLER,
            description="videobot: job state changes and progress -> the Slack thread (posts the mp4).",
            # Streams the finished mp4 from S3 into Slack.
            timeout=cdk.Duration.minutes(5),
            # The handler's writes are conditional, so a retried event changes nothing twice.
            retry_attempts=2,
            dead_letter_queue=self.dead_letters,
        )
        self.state_changes = events.Rule(
            self,
            "StateChanges",
            description=f"videobot: SageMaker state changes of {job_name_prefix}* processing jobs",
            event_pattern=state_changes(job_name_prefix),
            targets=[
                targets.LambdaFunction(
                    self.function,
                    dead_letter_queue=self.dead_letters,
                    retry_attempts=20,
                    max_event_age=cdk.Duration.hours(6),  # the sweeper reconciles anything later than this
                )
            ],
        )
        self.progress = events.Rule(
            self,
            "Progress",
            description="videobot: the renders' progress events",
            event_bus=self.progress_bus,
            event_pattern=PROGRESS,
            targets=[
                targets.LambdaFunction(
                    self.function,
                    dead_letter_queue=self.dead_letters,
                    retry_attempts=2,
                    max_event_age=cdk.Duration.minutes(5),  # old progress is no news; the next event is
                )
            ],
        )
        self.render_states = events.Rule(
            self,
            "RenderStates",
            description="videobot: each render's own end, from a warm job that runs several",
            event_bus=self.progress_bus,
            event_pattern=RENDER_STATES,
            targets=[
                targets.LambdaFunction(
                    self.function,
                    dead_letter_queue=self.dead_letters,
                    retry_attempts=20,  # an end is not a nicety: as SageMaker's state changes
                    max_event_age=cdk.Duration.hours(6),
                )
            ],
        )
        self.failure_topic = sns.Topic(
            self, "RenderFailures", display_name="videobot failed renders", enforce_ssl=True
        )
        self.failures = events.Rule(
            self,
            "Failures",
            description=f"videobot: failed {job_name_prefix}* processing jobs -> the render-failures topic",
            event_pattern=state_changes(job_name_prefix, "Failed"),
            targets=[
                targets.SnsTopic(
                    self.failure_topic,
                    message=events.RuleTargetInput.from_text(
                        f"videobot: render {JOB_NAME} failed: {FAILURE_REASON}"
                    ),
                )
            ],
        )
