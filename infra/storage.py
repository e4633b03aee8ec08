"""The state the bot keeps: the sessions table and the media bucket (with its access-log bucket)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from bot.adapters.store.dynamodb import TABLE_SCHEMA, TTL_ATTRIBUTE
from infra.nag import acknowledge, wildcard_resource

# The table's keys and indexes are the DynamoDB adapter's (bot/adapters/store/dynamodb.py TABLE_SCHEMA), so
# the store and its tests, which create the table from the same schema, can't drift from the stack.
ATTRIBUTE_TYPES = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER}


def table_keys(schema: Mapping[str, Any] = TABLE_SCHEMA) -> dict[str, Any]:
    """TableV2 props (partition/sort key, global secondary indexes) from a CreateTable-style schema."""
    types = {
        item["AttributeName"]: ATTRIBUTE_TYPES[item["AttributeType"]]
        for item in schema["AttributeDefinitions"]
    }

    def keys(key_schema: list[Mapping[str, str]]) -> dict[str, dynamodb.Attribute]:
        role = {"HASH": "partition_key", "RANGE": "sort_key"}
        return {
            role[key["KeyType"]]: dynamodb.Attribute(
                name=key["AttributeName"], type=types[key["AttributeName"]]
            )
            for key in key_schema
        }

    indexes = [
        dynamodb.GlobalSecondaryIndexPropsV2(
            index_name=index["IndexName"],
            projection_type=dynamodb.ProjectionType[index["Projection"]["ProjectionType"]],
            non_key_attributes=index["Projection"].get("NonKeyAttributes"),
            **keys(index["KeySchema"]),
        )
        for index in schema.get("GlobalSecondaryIndexes", [])
    ]
    return {**keys(schema["KeySchema"]), "global_secondary_indexes": indexes or None}


# The bucket's key layout (bot/adapters/blobs/__init__.py): what each prefix holds and who writes it.
IMAGES_PREFIX = "images/"  # pictures people shared (the bot)
SPECS_PREFIX = "specs/"  # each job's spec.json (the bot)
RENDERS_PREFIX = "renders/"  # each job's video.mp4, poster.jpg, result.json (the job)
MODELS_PREFIX = "models/"  # staged weights (`make stage-model`); never expires


class Storage(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        upload_retention_days: int,
        render_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.TableV2(
            self,
            "Sessions",
            **table_keys(),
            billing=dynamodb.Billing.on_demand(),
            time_to_live_attribute=TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=False,
        )
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            # S3 server access logging can only deliver to an SSE-S3 bucket.
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=cdk.Duration.days(90))],
        )
        day = cdk.Duration.days
        self.bucket = s3.Bucket(
            self,
            "Media",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            # Versioning keeps an overwritten or deleted object (staged weights cost an hour to
            # re-stage) for a week; the current versions of people's media expire on their own.
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="media/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-uploads", prefix=IMAGES_PREFIX, expiration=day(upload_retention_days)
                ),
                s3.LifecycleRule(
                    id="expire-specs", prefix=SPECS_PREFIX, expiration=day(render_retention_days)
                ),
                s3.LifecycleRule(
                    id="expire-renders", prefix=RENDERS_PREFIX, expiration=day(render_retention_days)
                ),
                s3.LifecycleRule(
                    id="tidy-versions",
                    noncurrent_version_expiration=day(7),
                    expired_object_delete_marker=True,
                    abort_incomplete_multipart_upload_after=day(1),
                ),
            ],
        )

    def grant_sessions(self, role: iam.IRole) -> None:
        """Sessions and jobs: read and write items (and query the table's own indexes)."""
        self.table.grant_read_write_data(role)
        acknowledge(
            role,
            wildcard_resource(self, f"{self.table.table_arn}/index/*"),
            "The store queries the table's own secondary indexes (by owner, active jobs); CDK's table "
            "grant names them by this wildcard, which matches only this table's indexes.",
        )

    def grant_claims(self, role: iam.IRole) -> None:
        """One conditional PutItem per claim (SessionStore.claim_once), and nothing else on the table."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ClaimOnce", actions=["dynamodb:PutItem"], resources=[self.table.table_arn]
            )
        )

    def grant_media(
        self,
        role: iam.IRole,
        *,
        read: Sequence[str] = (),
        write: Sequence[str] = (),
        list_only: Sequence[str] = (),
        delete: Sequence[str] = (),
    ) -> None:
        """Objects under the `read` and `write` prefixes; listing of `read` and `list_only` ones; deleting
        under `delete` ones (a video its owner deleted: the App Home tab).

        Written out rather than `grant_read_write`, which would add deletes, ACLs and an unscoped list.
        """
        if read:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="ReadMedia",
                    actions=["s3:GetObject"],
                    resources=[self.bucket.arn_for_objects(f"{prefix}*") for prefix in read],
                )
            )
        listed = [*read, *list_only]
        if listed:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    # Without it a missing key answers 403 instead of 404 (and models/ is only listed:
                    # the launcher looks for a staged model's manifest).
                    sid="ListMedia",
                    actions=["s3:ListBucket"],
                    resources=[self.bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in listed]}},
                )
            )
        if write:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="WriteMedia",
                    actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                    resources=[self.bucket.arn_for_objects(f"{prefix}*") for prefix in write],
                )
            )
        if delete:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="DeleteMedia",
                    actions=["s3:DeleteObject"],
                    resources=[self.bucket.arn_for_objects(f"{prefix}*") for prefix in delete],
                )
            )
        why = {
            IMAGES_PREFIX: "pictures people share, one key per upload",
            SPECS_PREFIX: "one folder per render, with its spec.json and picture",
            RENDERS_PREFIX: "one folder per render, read back to post the video",
        }
        for prefix in dict.fromkeys([*read, *write, *delete]):
            acknowledge(
                role,
                wildcard_resource(self, self.bucket.arn_for_objects(f"{prefix}*")),
                f"Object keys under {prefix} are made at run time ({why[prefix]}); the grant stops at "
                "that prefix.",
            )
