"""SessionStore on DynamoDB: one table, conditional writes, TTL. The cloud twin of `sqlite`.

Items (partition key `pk`, no sort key):
    session#<channel>:<thread_ts>   a Session             version, expires_at, body (JSON)
    job#<job_id>                    a Job                 version, expires_at, body, status, created_at,
                                                          owner_key, active_key (only while active)
Two global secondary indexes answer the queries: `by_owner` (owner_key, created_at) for quotas and
`/video status`, and the sparse `active_jobs` (active_key, created_at), which holds only jobs not yet
finished, for the queue and the sweeper. Both are eventually consistent, which is fine for counting;
every state change goes through a consistent read and a write conditional on the version read.
Powertools' idempotency records share the table (their keys never start with `session#`/`job#`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from botocore.exceptions import ClientError

from bot.ports import Conflict
from bot.sessions import ACTIVE, SESSION_TTL_SECONDS, Job, Session, session_key

KEY = "pk"
TTL_ATTRIBUTE = "expires_at"
OWNER_INDEX = "by_owner"
ACTIVE_INDEX = "active_jobs"
ACTIVE_MARK = "active"

# The table as this store needs it (the CDK stack declares the same; tests create it from this).
TABLE_SCHEMA: dict[str, Any] = {
    "KeySchema": [{"AttributeName": KEY, "KeyType": "HASH"}],
    "AttributeDefinitions": [
        {"AttributeName": KEY, "AttributeType": "S"},
        {"AttributeName": "owner_key", "AttributeType": "S"},
        {"AttributeName": "active_key", "AttributeType": "S"},
        {"AttributeName": "created_at", "AttributeType": "N"},
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": OWNER_INDEX,
            "KeySchema": [
                {"AttributeName": "owner_key", "KeyType": "HASH"},
                {"AttributeName": "created_at", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
        {
            "IndexName": ACTIVE_INDEX,
            "KeySchema": [
                {"AttributeName": "active_key", "KeyType": "HASH"},
                {"AttributeName": "created_at", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
    ],
    "BillingMode": "PAY_PER_REQUEST",
}


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": repr(value) if isinstance(value, float) else str(value)}


class DynamoDbSessionStore:
    def __init__(self, table: str, client: Any) -> None:
        self.table = table
        self.client = client  # a boto3 DynamoDB client

    # sessions

    def get_session(self, channel: str, thread_ts: str) -> Session | None:
        body = self._get(f"session#{session_key(channel, thread_ts)}")
        return Session.from_dict(body) if body is not None else None

    def create_session(self, session: Session) -> Session:
        stored = replace(session, version=1)
        self._put(self._session_item(stored), expected_version=None, what=f"session {session.key}")
        return stored

    def save_session(self, session: Session) -> Session:
        stored = replace(session, version=session.version + 1)
        self._put(self._session_item(stored), expected_version=session.version, what=f"session {session.key}")
        return stored

    @staticmethod
    def _session_item(session: Session) -> dict[str, Any]:
        return {
            KEY: _s(f"session#{session.key}"),
            "kind": _s("session"),
            "version": _n(session.version),
            TTL_ATTRIBUTE: _n(session.expires_at),
            "body": _s(json.dumps(session.to_dict(), separators=(",", ":"))),
        }

    # jobs

    def get_job(self, job_id: str) -> Job | None:
        body = self._get(f"job#{job_id}")
        return Job.from_dict(body) if body is not None else None

    def create_job(self, job: Job) -> Job:
        stored = replace(job, version=1)
        self._put(self._job_item(stored), expected_version=None, what=f"job {job.job_id}")
        return stored

    def save_job(self, job: Job) -> Job:
        stored = replace(job, version=job.version + 1)
        self._put(self._job_item(stored), expected_version=job.version, what=f"job {job.job_id}")
        return stored

    def jobs_for_owner(self, owner: str, *, since: float = 0.0) -> list[Job]:
        return list(
            self._query(
                OWNER_INDEX,
                "owner_key = :owner AND created_at >= :since",
                {":owner": _s(f"owner#{owner}"), ":since": _n(since)},
                newest_first=True,
            )
        )

    def active_jobs(self) -> list[Job]:
        jobs = self._query(
            ACTIVE_INDEX, "active_key = :active", {":active": _s(ACTIVE_MARK)}, newest_first=False
        )
        # The index lags the table a little: drop a job that finished a moment ago.
        return [job for job in jobs if job.status in ACTIVE]

    @staticmethod
    def _job_item(job: Job) -> dict[str, Any]:
        item = {
            KEY: _s(f"job#{job.job_id}"),
            "kind": _s("job"),
            "version": _n(job.version),
            TTL_ATTRIBUTE: _n(int(job.updated_at + SESSION_TTL_SECONDS)),
            "status": _s(job.status),
            "owner_key": _s(f"owner#{job.owner}"),
            "created_at": _n(job.created_at),
            "body": _s(json.dumps(job.to_dict(), separators=(",", ":"))),
        }
        if job.status in ACTIVE:
            item["active_key"] = _s(ACTIVE_MARK)  # a finished job leaves the sparse index
        return item

    # the table

    def _get(self, pk: str) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.table, Key={KEY: _s(pk)}, ConsistentRead=True, ProjectionExpression="body"
        )
        item = response.get("Item")
        return json.loads(item["body"]["S"]) if item else None

    def _put(self, item: dict[str, Any], *, expected_version: int | None, what: str) -> None:
        if expected_version is None:
            condition: dict[str, Any] = {"ConditionExpression": f"attribute_not_exists({KEY})"}
        else:
            condition = {
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": {":expected": _n(expected_version)},
            }
        try:
            self.client.put_item(TableName=self.table, Item=item, **condition)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                state = "exists" if expected_version is None else f"changed since version {expected_version}"
                raise Conflict(f"{what} {state}") from None
            raise

    def _query(
        self, index: str, condition: str, values: dict[str, Any], *, newest_first: bool
    ) -> Iterator[Job]:
        paginator = self.client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table,
            IndexName=index,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ProjectionExpression="body",
            ScanIndexForward=not newest_first,
        )
        for page in pages:
            for item in page.get("Items", ()):
                yield Job.from_dict(json.loads(item["body"]["S"]))
