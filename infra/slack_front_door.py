"""Slack's way in: the request function behind a Function URL, its secret, and what only it may call.

Slack signs every request; the app checks that signature (Bolt), so the URL itself needs no AWS auth.
Slow work runs in lazy listeners, which Bolt starts by invoking this same function asynchronously;
they write the prompts (Bedrock, and the guardrail when there is one). What it shares with the other
functions (the table, the bucket, SageMaker) is granted in infra/stack.py.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.bedrock import guardrail_arn, model_access
from infra.bot_runtime import BotRuntime
from infra.guardrail import ContentGuardrail
from infra.nag import acknowledge, wildcard_resource
from infra.queues import dead_letter_queue
from infra.settings import StackSettings

SLACK_HANDLER = "bot.aws.handle_slack_request"
UNFINISHED_HANDLER = "bot.aws.explain_unfinished_requests"
UNFINISHED_TIMEOUT = cdk.Duration.minutes(1)
# The JSON keys of the secret's value (bot/aws_config.py).
SECRET_KEYS = ("signing_secret", "bot_token")
# The bot's names for the guardrail (bot/config.py).
GUARDRAIL_ID_ENV = "VIDEOBOT_GUARDRAIL_ID"
GUARDRAIL_VERSION_ENV = "VIDEOBOT_GUARDRAIL_VERSION"


class SlackFrontDoor(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, runtime: BotRuntime, settings: StackSettings
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        # Created with empty values; the README's `put-secret-value` fills it after the Slack app exists.
        # A later deploy leaves what was put there alone (the template's value never changes).
        self.secret = secretsmanager.Secret(
            self,
            "SlackSecret",
            description="videobot: the Slack app's signing secret and bot token (JSON).",
            secret_object_value={key: cdk.SecretValue.unsafe_plain_text("") for key in SECRET_KEYS},
        )
        acknowledge(
            self.secret,
            "AwsSolutions-SMG4",
            "Slack issues the signing secret and bot token; they are rotated in Slack's app settings and "
            "then put here (README), which no rotation Lambda could do.",
        )

        self.dead_letters = dead_letter_queue(self, "AsyncDeadLetters", consumer_timeout=UNFINISHED_TIMEOUT)
        # A fixed name lets the role name this function's ARN before the function exists:
        # `function.grant_invoke(function)` would make the role depend on the function and back.
        self.function_name = f"{stack.stack_name}-slack-requests"
        self.function = runtime.add_function(
            self,
            "Requests",
            handler=SLACK_HANDLER,
            description="videobot: Slack's requests (ack within 3 s) and the lazy listeners they start.",
            function_name=self.function_name,
            timeout=cdk.Duration.minutes(5),
            memory_size=1024,  # more memory is more CPU: a faster cold start for the 3-second ack
            reserved_concurrent_executions=settings.slack_reserved_concurrency,
            dead_letter_queue=self.dead_letters,
            # A lazy listener that fails has already told the person (bot/listeners/guard.py); one
            # that crashed (timeout, memory) would repeat half-done work. Its event is kept instead.
            retry_attempts=0,
        )
        # ...and read from there to tell the person who asked (bot/unfinished.py).
        self.unfinished = runtime.add_function(
            self,
            "UnfinishedRequests",
            handler=UNFINISHED_HANDLER,
            description="videobot: tells people when the slow work of their Slack request died.",
            timeout=UNFINISHED_TIMEOUT,
            memory_size=512,
        )
        self.unfinished.add_event_source(
            event_sources.SqsEventSource(self.dead_letters, batch_size=10, report_batch_item_failures=True)
        )
        self.role = runtime.role_of(self.function)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="StartLazyListeners",
                actions=["lambda:InvokeFunction"],
                resources=[
                    stack.format_arn(
                        service="lambda",
                        resource="function",
                        resource_name=self.function_name,
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        self.url = self.function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)
        if settings.refiner == "bedrock":
            self._allow_bedrock(self.role, settings)
        self.guardrail = ContentGuardrail(self, "PromptGuardrail") if settings.create_guardrail else None
        self._use_guardrail(settings)

    def _use_guardrail(self, settings: StackSettings) -> None:
        """The guardrail (created here, or the deployment's own) for the function that writes prompts:
        its id and version in that function's environment, and ApplyGuardrail on it alone."""
        stack = cdk.Stack.of(self)
        where = {"partition": stack.partition, "region": stack.region, "account": stack.account}
        if self.guardrail:
            arn, guardrail_id, version = (
                self.guardrail.guardrail_arn,
                self.guardrail.guardrail_id,
                self.guardrail.version_number,
            )
        elif settings.guardrail_id and settings.guardrail_version:
            arn = guardrail_arn(settings.guardrail_id, **where)
            guardrail_id, version = settings.guardrail_id, settings.guardrail_version
        else:
            return
        self.function.add_environment(GUARDRAIL_ID_ENV, guardrail_id)
        self.function.add_environment(GUARDRAIL_VERSION_ENV, version)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(sid="CheckWithGuardrail", actions=["bedrock:ApplyGuardrail"], resources=[arn])
        )

    def _allow_bedrock(self, role: iam.IRole, settings: StackSettings) -> None:
        """Converse / ConverseStream on the configured model only."""
        stack = cdk.Stack.of(self)
        where = {"partition": stack.partition, "region": stack.region, "account": stack.account}
        access = model_access(settings.bedrock_model_id, **where)
        invoke = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
        if access.profile_arn is None:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="WriteVideoPrompts", actions=invoke, resources=list(access.foundation_model_arns)
                )
            )
        else:
            role.add_to_principal_policy(
                iam.PolicyStatement(sid="WriteVideoPrompts", actions=invoke, resources=[access.profile_arn])
            )
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="WriteVideoPromptsThroughProfile",
                    actions=invoke,
                    resources=list(access.foundation_model_arns),
                    conditions={"StringEquals": {"bedrock:InferenceProfileArn": access.profile_arn}},
                )
            )
            for arn in (arn for arn in access.foundation_model_arns if "*" in arn):
                acknowledge(
                    role,
                    wildcard_resource(self, arn),
                    "A cross-region inference profile serves a request from any of its regions, and Bedrock "
                    "checks the model there: one model, any region, and only through the profile "
                    "(bedrock:InferenceProfileArn condition).",
                )
