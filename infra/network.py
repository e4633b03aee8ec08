"""Optional: a VPC for the render jobs, with no way out to the internet.

The jobs run in isolated private subnets and reach AWS through VPC endpoints only: S3 (inputs,
staged weights, outputs; a free gateway endpoint), ECR (the image), CloudWatch Logs and
EventBridge (progress). Weights must then be staged (`make stage-model`): the hub is out of reach.
The Lambda functions stay outside: they talk to Slack over the internet.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

INTERFACE_ENDPOINTS = {
    "Ecr": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Events": ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE,
}


class JobNetwork(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, log_retention: logs.RetentionDays) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="jobs", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22
                )
            ],
            restrict_default_security_group=False,
        )
        flow_logs = logs.LogGroup(
            self, "FlowLogs", retention=log_retention, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        self.vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))
        self.job_security_group = ec2.SecurityGroup(
            self,
            "JobSecurityGroup",
            vpc=self.vpc,
            description="videobot render jobs: no inbound; out only to the VPC endpoints (no internet route)",
            allow_all_outbound=True,
        )
        self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        for name, service in INTERFACE_ENDPOINTS.items():
            endpoint = self.vpc.add_interface_endpoint(
                name, service=service, private_dns_enabled=True, open=False
            )
            # Only the jobs may reach the endpoints (HTTPS), not everything in the VPC.
            endpoint.connections.allow_default_port_from(self.job_security_group)
        self.subnets = self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnets
