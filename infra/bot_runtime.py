"""What the bot's Lambda functions share: one code asset, one environment, log retention.

Each function gets a role of its own (`add_function`), empty but for writing its own log group; the
stack then grants each one what its handler calls (infra/stack.py), so the internet-facing Slack
function can't, say, consume the capacity queue, and the sweeper can't start a render.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.bundle import ARCHITECTURE, RUNTIME, bot_code
from infra.settings import LOG_RETENTIONS


class BotRuntime(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, log_retention_days: int) -> None:
        super().__init__(scope, construct_id)
        self.code = bot_code()
        self.log_retention = logs.RetentionDays[LOG_RETENTIONS[log_retention_days]]
        self.functions: list[lambda_.Function] = []
        self.roles: dict[lambda_.Function, iam.Role] = {}
        self._environment: dict[str, str] = {}

    def add_function(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        description: str,
        timeout: cdk.Duration,
        memory_size: int = 1024,
        **props: object,
    ) -> lambda_.Function:
        """A function running `handler` (a `bot.aws` attribute) with the shared code and environment,
        and a role of its own."""
        role = iam.Role(
            scope,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{description} (its own role: only what {handler} calls)",
        )
        # The log group is ours, not Lambda's implicit one, so it has a retention and goes with the stack.
        log_group = logs.LogGroup(
            scope,
            f"{construct_id}Logs",
            retention=self.log_retention,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            scope,
            construct_id,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=self.code,
            handler=handler,
            description=description,
            role=role,
            timeout=timeout,
            memory_size=memory_size,
            log_group=log_group,
            environment=dict(self._environment),
            **props,
        )
        self.functions.append(function)
        self.roles[function] = role
        return function

    def role_of(self, function: lambda_.Function) -> iam.Role:
        return self.roles[function]

    def set_environment(self, environment: Mapping[str, str]) -> None:
        """Give every function (those made so far and those to come) these variables."""
        self._environment.update(environment)
        for function in self.functions:
            for name, value in environment.items():
                function.add_environment(name, value)
