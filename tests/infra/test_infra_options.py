"""The optional parts, switched on through context: jobs in a VPC, a guardrail, an alarm address."""

from __future__ import annotations

import json


def test_without_job_vpc_there_is_no_network_to_pay_for(deployed):
    assert not deployed.resources("AWS::EC2::VPC")
    assert not deployed.resources("AWS::EC2::VPCEndpoint")


def test_job_vpc_has_isolated_subnets_and_no_way_to_the_internet(with_extras):
    assert len(with_extras.resources("AWS::EC2::Subnet")) == 2
    assert all(not s["MapPublicIpOnLaunch"] for s in with_extras.properties("AWS::EC2::Subnet"))
    assert not with_extras.resources("AWS::EC2::InternetGateway")
    assert not with_extras.resources("AWS::EC2::NatGateway")


def test_jobs_reach_s3_ecr_logs_and_eventbridge_through_endpoints(with_extras):
    services = {json.dumps(e["ServiceName"]) for e in with_extras.properties("AWS::EC2::VPCEndpoint")}
    for service in (".s3", ".ecr.api", ".ecr.dkr", ".logs", ".events"):
        assert any(service in name for name in services), service


def test_only_the_jobs_may_reach_the_endpoints(with_extras):
    job_group = with_extras.logical_id(with_extras.stack.jobs.network.job_security_group)
    ingress = [
        rule
        for group in with_extras.properties("AWS::EC2::SecurityGroup")
        for rule in group.get("SecurityGroupIngress", [])
    ] + with_extras.properties("AWS::EC2::SecurityGroupIngress")
    assert ingress
    for rule in ingress:
        assert "CidrIp" not in rule
        assert rule["SourceSecurityGroupId"] == {"Fn::GetAtt": [job_group, "GroupId"]}
        assert (rule["FromPort"], rule["ToPort"]) == (443, 443)


def test_the_vpc_keeps_flow_logs(with_extras):
    assert with_extras.resources("AWS::EC2::FlowLog")


def test_in_a_vpc_the_job_role_may_attach_the_job_to_it(with_extras):
    actions = {a for s in with_extras.statements(with_extras.stack.jobs.role) for a in s["Action"]}
    assert {"ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"} <= actions


def test_with_a_guardrail_the_bot_may_apply_that_guardrail_only(with_extras):
    (statement,) = [
        s
        for s in with_extras.statements(with_extras.stack.slack.role)
        if s["Action"] == "bedrock:ApplyGuardrail"
    ]
    assert json.dumps(statement["Resource"]).endswith(':guardrail/gr0abc123def"]]}')


def test_an_alarm_address_is_subscribed_to_the_alarms(with_extras):
    with_extras.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "email",
            "Endpoint": "ops@example.com",
            "TopicArn": {"Ref": with_extras.logical_id(with_extras.stack.operations.topic)},
        },
    )


def test_reserved_concurrency_can_be_left_off(with_extras):
    (slack,) = [
        p
        for p in with_extras.properties("AWS::Lambda::Function")
        if p["Handler"] == "bot.aws.handle_slack_request"
    ]
    assert "ReservedConcurrentExecutions" not in slack
