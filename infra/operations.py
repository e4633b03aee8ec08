"""Operations: the alarms that say something needs a person, and where they are sent.

Lambda errors (each function) and throttles (the Slack front door), anything in a dead-letter queue,
renders waiting too long for capacity, and failed renders. Alarms go to one SNS topic; subscribe an
address with `videobot:alarm_email`. Each alarm is named and described after its stack, so with two
stacks in one account (staging, production) a message says which one needs a person.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

FIVE_MINUTES = cdk.Duration.minutes(5)
QUEUE_WAIT_ALARM = cdk.Duration.minutes(30)


class Operations(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, alarm_email: str | None) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Alarms", display_name="videobot alarms", enforce_ssl=True)
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self._action = cloudwatch_actions.SnsAction(self.topic)
        self.alarms: list[cloudwatch.Alarm] = []

    def watch_function(self, function: lambda_.Function, name: str) -> None:
        self._alarm(
            f"{name}Errors",
            function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
            f"videobot: the {name} function failed (see its log group).",
        )

    def watch_throttles(self, function: lambda_.Function, name: str) -> None:
        self._alarm(
            f"{name}Throttles",
            function.metric_throttles(period=FIVE_MINUTES, statistic="Sum"),
            f"videobot: the {name} function was throttled (its reserved concurrency or the account's "
            "limit); Slack requests were turned away.",
        )

    def watch_dead_letters(self, queue: sqs.IQueue, name: str) -> None:
        self._alarm(
            f"{name}DeadLetters",
            queue.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES, statistic="Maximum"),
            f"videobot: {name} has messages that could not be delivered; look at them and redrive.",
        )

    def watch_dead_letters_sent(self, queue: sqs.IQueue, name: str) -> None:
        """For a dead-letter queue a function drains: what arrived, not what is still there."""
        self._alarm(
            f"{name}DeadLetters",
            queue.metric_number_of_messages_sent(period=FIVE_MINUTES, statistic="Sum"),
            f"videobot: {name} died before finishing (the person was told); see its log group.",
        )

    def watch_queue_wait(self, queue: sqs.IQueue) -> None:
        self._alarm(
            "CapacityWait",
            queue.metric_approximate_age_of_oldest_message(period=FIVE_MINUTES, statistic="Maximum"),
            "videobot: renders have waited over 30 minutes for SageMaker capacity (instance quota?).",
            threshold=QUEUE_WAIT_ALARM.to_seconds(),
        )

    def watch_failed_renders(self, failures: events.Rule, per_hour: int) -> None:
        self._alarm(
            "FailedRenders",
            cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name="Invocations",  # one per failed render the rule passed on
                dimensions_map={"RuleName": failures.rule_name},
                period=cdk.Duration.hours(1),
                statistic="Sum",
            ),
            f"videobot: {per_hour} or more renders failed within an hour (see the job-events log).",
            threshold=per_hour,
        )

    def _alarm(
        self, construct_id: str, metric: cloudwatch.IMetric, description: str, threshold: float = 1
    ) -> None:
        stack_name = cdk.Stack.of(self).stack_name
        alarm = metric.create_alarm(
            self,
            construct_id,
            alarm_name=f"{stack_name}-{construct_id}",
            alarm_description=f"[{stack_name}] {description}",
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self._action)
        self.alarms.append(alarm)
