"""SessionStore on DynamoDB: one table, conditional writes, TTL. The cloud twin of `sqlite`.

Items (partition key `pk`, no sort key):
    session#<channel>:<thread_ts>   a Session             version, expires_at, body (JSON)
    storyboard#<channel>:<ts>       a Storyboard          version, expires_at, body (JSON)
    job#<job_id>                    a Job                 version, expires_at, body, status, created_at,
                                                          owner_key, active_key (only while active)
    quota#owner#<owner>             the owner's renders    version, expires_at, body ({job_id: created_at})
                                    that count today
    quota#workspace                 the active renders     version, body ({job_id: created_at})
    claim#<key>                     a one-time claim       expires_at (a replayed Slack request's signature)
    feedback#<job_id>#<user>        a 👍 / 👎 on a render   expires_at, body, owner_key "feedback",
                                                          created_at (when voted: `by_owner` lists them)
    defaults#<user>                 a person's defaults    version, body (bot.conversation.defaults; no TTL)
Two global secondary indexes answer the queries: `by_owner` (owner_key, created_at) for quotas and
`/video status`, and the sparse `active_jobs` (active_key, created_at), which holds only jobs not yet
finished, for the queue and the sweeper. Both are eventually consistent, which is fine for counting;
every state change goes through a consistent read and a write conditional on the version read.

A new render is *reserved*: the two quota items list the renders that count (the indexes may not show
one written a moment ago), their jobs are read consistently, the caps are checked, and the job and both
items are written in one transaction, conditional on the items' versions. Two reservations can't both
pass on the same counts: the second one's transaction fails, and it counts again.
Powertools' idempotency records share the table (their keys never start with `session#`/`job#`).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from dataclasses import asdict, replace
from typing import Any

from botocore.exceptions import ClientError

from bot.conversation.defaults import UserDefaults
from bot.conversation.feedback import Feedback
from bot.conversation.ports import Conflict, QuotaCheck, QuotaExceeded
from bot.conversation.quotas import GIVEN_BACK
from bot.conversation.sessions import ACTIVE, SESSION_TTL_SECONDS, Job, Session, session_key
from bot.conversation.storyboards import Storyboard

KEY = "pk"
TTL_ATTRIBUTE = "expires_at"
OWNER_INDEX = "by_owner"
ACTIVE_INDEX = "active_jobs"
ACTIVE_MARK = "active"
FEEDBACK_MARK = "feedback"  # the `by_owner` partition that lists the votes (no owner is called that)
FEEDBACK_TTL_S = 365 * 24 * 3600
WORKSPACE_QUOTA = "quota#workspace"
DAY_S = 24 * 3600
# A reservation that lost its transaction to another one counts again; each round lets one through.
RESERVE_ATTEMPTS = 30
BATCH_GET_LIMIT = 100

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

    # storyboards

    def get_storyboard(self, channel: str, thread_ts: str) -> Storyboard | None:
        body = self._get(f"storyboard#{session_key(channel, thread_ts)}")
        return Storyboard.from_dict(body) if body is not None else None

    def create_storyboard(self, storyboard: Storyboard) -> Storyboard:
        stored = replace(storyboard, version=1)
        self._put(self._storyboard_item(stored), expected_version=None, what=f"storyboard {storyboard.key}")
        return stored

    def save_storyboard(self, storyboard: Storyboard) -> Storyboard:
        stored = replace(storyboard, version=storyboard.version + 1)
        what = f"storyboard {storyboard.key}"
        self._put(self._storyboard_item(stored), expected_version=storyboard.version, what=what)
        return stored

    @staticmethod
    def _storyboard_item(storyboard: Storyboard) -> dict[str, Any]:
        return {
            KEY: _s(f"storyboard#{storyboard.key}"),
            "kind": _s("storyboard"),
            "version": _n(storyboard.version),
            TTL_ATTRIBUTE: _n(storyboard.expires_at),
            "body": _s(json.dumps(storyboard.to_dict(), separators=(",", ":"))),
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

    def reserve_job(self, job: Job, check: QuotaCheck) -> Job:
        stored = replace(job, version=1)
        owner_key = f"quota#owner#{job.owner}"
        since = job.created_at - DAY_S
        for attempt in range(RESERVE_ATTEMPTS):
            items = self._get_many([f"job#{job.job_id}", owner_key, WORKSPACE_QUOTA], "pk, version, body")
            if f"job#{job.job_id}" in items:
                raise Conflict(f"job {job.job_id} exists")
            owner_ledger, workspace_ledger = items.get(owner_key), items.get(WORKSPACE_QUOTA)
            # The ledgers hold what was reserved a moment ago; the indexes, what came before them.
            candidates = set(_ledger(owner_ledger)) | set(_ledger(workspace_ledger))
            candidates |= {j.job_id for j in self.jobs_for_owner(job.owner, since=since)}
            candidates |= {j.job_id for j in self.active_jobs()}
            jobs = [Job.from_dict(body) for body in self._get_bodies([f"job#{c}" for c in candidates])]
            owner_jobs = [j for j in jobs if j.owner == job.owner and j.created_at >= since]
            active = sorted((j for j in jobs if j.status in ACTIVE), key=lambda j: j.created_at)
            refusal = check(owner_jobs, active)
            if refusal:
                raise QuotaExceeded(refusal)
            counted = {j.job_id: j.created_at for j in owner_jobs if j.status not in GIVEN_BACK}
            counted[job.job_id] = job.created_at
            running = {j.job_id: j.created_at for j in active}
            running[job.job_id] = job.created_at
            try:
                self.client.transact_write_items(
                    TransactItems=[
                        {"Put": self._put_request(self._job_item(stored), None)},
                        {"Put": self._ledger_put(owner_key, counted, owner_ledger, job.created_at)},
                        {"Put": self._ledger_put(WORKSPACE_QUOTA, running, workspace_ledger, job.created_at)},
                    ]
                )
                return stored
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                reasons = error.response.get("CancellationReasons") or []
                if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                    raise Conflict(f"job {job.job_id} exists") from None
            time.sleep(random.uniform(0, 0.02 * (attempt + 1)))  # noqa: S311 - jitter, not security
        raise Conflict(f"the quota for {job.owner} kept changing")

    def _ledger_put(
        self, pk: str, jobs: dict[str, float], read: dict[str, Any] | None, now: float
    ) -> dict[str, Any]:
        version = _version(read)
        return self._put_request(_ledger_item(pk, jobs, now, version), version)

    def _put_request(self, item: dict[str, Any], expected_version: int | None) -> dict[str, Any]:
        """A conditional Put: on an item that doesn't exist yet (None), or still at `expected_version`."""
        request: dict[str, Any] = {"TableName": self.table, "Item": item}
        if expected_version is None:
            request["ConditionExpression"] = f"attribute_not_exists({KEY})"
        else:
            request["ConditionExpression"] = "version = :expected"
            request["ExpressionAttributeValues"] = {":expected": _n(expected_version)}
        return request

    def jobs_for_owner(self, owner: str, *, since: float = 0.0, limit: int | None = None) -> list[Job]:
        return list(
            self._query(
                OWNER_INDEX,
                "owner_key = :owner AND created_at >= :since",
                {":owner": _s(f"owner#{owner}"), ":since": _n(since)},
                newest_first=True,
                limit=limit,
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

    # claims

    def claim_once(self, key: str, *, expires_at: float, now: float) -> bool:
        try:
            self.client.put_item(
                TableName=self.table,
                Item={KEY: _s(f"claim#{key}"), "kind": _s("claim"), TTL_ATTRIBUTE: _n(int(expires_at) + 1)},
                # TTL deletes expired items within a day or two; until then they don't count.
                ConditionExpression=f"attribute_not_exists({KEY}) OR {TTL_ATTRIBUTE} < :now",
                ExpressionAttributeValues={":now": _n(int(now))},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # 👍 / 👎 on results: one item per person per render, replaced by a new vote

    def record_feedback(self, feedback: Feedback) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                KEY: _s(f"feedback#{feedback.job_id}#{feedback.user}"),
                "kind": _s("feedback"),
                TTL_ATTRIBUTE: _n(int(feedback.at + FEEDBACK_TTL_S)),
                "owner_key": _s(FEEDBACK_MARK),
                "created_at": _n(feedback.at),
                "body": _s(json.dumps(feedback.to_dict(), separators=(",", ":"))),
            },
        )

    def feedback_since(self, since: float) -> list[Feedback]:
        pages = self.client.get_paginator("query").paginate(
            TableName=self.table,
            IndexName=OWNER_INDEX,
            KeyConditionExpression="owner_key = :feedback AND created_at >= :since",
            ExpressionAttributeValues={":feedback": _s(FEEDBACK_MARK), ":since": _n(since)},
            ProjectionExpression="body",
        )
        return [
            Feedback.from_dict(json.loads(item["body"]["S"]))
            for page in pages
            for item in page.get("Items", ())
        ]

    # channel settings (`/video channel pictures all|mention`)

    def channel_pictures(self, channel: str) -> str | None:
        body = self._get(f"channel#{channel}")
        return str(body["pictures"]) if body and body.get("pictures") else None

    def set_channel_pictures(self, channel: str, mode: str) -> None:
        item = {
            KEY: _s(f"channel#{channel}"),
            "kind": _s("channel"),
            "body": _s(json.dumps({"pictures": mode}, separators=(",", ":"))),
        }
        self.client.put_item(TableName=self.table, Item=item)

    # people's defaults for new sessions (the App Home tab)

    def user_defaults(self, user: str) -> UserDefaults | None:
        body = self._get(f"defaults#{user}")
        return UserDefaults(**body) if body is not None else None

    def save_user_defaults(self, defaults: UserDefaults) -> UserDefaults:
        stored = replace(defaults, version=defaults.version + 1)
        item = {
            KEY: _s(f"defaults#{defaults.user}"),
            "kind": _s("defaults"),
            "version": _n(stored.version),
            "body": _s(json.dumps(asdict(stored), separators=(",", ":"))),
        }
        expected = defaults.version or None  # 0: a person's first choice, so no item yet
        self._put(item, expected_version=expected, what=f"the defaults of {defaults.user}")
        return stored

    # the table

    def _get_many(self, keys: list[str], projection: str) -> dict[str, dict[str, Any]]:
        """Items by key, read consistently (BatchGetItem, with its unprocessed keys asked again)."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self.table: {
                    "Keys": [{KEY: _s(k)} for k in keys[start : start + BATCH_GET_LIMIT]],
                    "ConsistentRead": True,
                    "ProjectionExpression": projection,
                }
            }
            while request:
                answer = self.client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table, []):
                    found[item[KEY]["S"]] = item
                request = answer.get("UnprocessedKeys") or {}
        return found

    def _get_bodies(self, keys: list[str]) -> list[dict[str, Any]]:
        return [json.loads(item["body"]["S"]) for item in self._get_many(keys, "pk, body").values()]

    def _get(self, pk: str) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.table, Key={KEY: _s(pk)}, ConsistentRead=True, ProjectionExpression="body"
        )
        item = response.get("Item")
        return json.loads(item["body"]["S"]) if item else None

    def _put(self, item: dict[str, Any], *, expected_version: int | None, what: str) -> None:
        try:
            self.client.put_item(**self._put_request(item, expected_version))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                state = "exists" if expected_version is None else f"changed since version {expected_version}"
                raise Conflict(f"{what} {state}") from None
            raise

    def _query(
        self,
        index: str,
        condition: str,
        values: dict[str, Any],
        *,
        newest_first: bool,
        limit: int | None = None,
    ) -> Iterator[Job]:
        paginator = self.client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table,
            IndexName=index,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ProjectionExpression="body",
            ScanIndexForward=not newest_first,
            PaginationConfig={"MaxItems": limit} if limit is not None else {},
        )
        for page in pages:
            for item in page.get("Items", ()):
                yield Job.from_dict(json.loads(item["body"]["S"]))


def _ledger(item: dict[str, Any] | None) -> dict[str, float]:
    """A quota item's {job_id: created_at}."""
    if item is None:
        return {}
    jobs = json.loads(item["body"]["S"]).get("jobs", {})
    return {str(k): float(v) for k, v in jobs.items()}


def _version(item: dict[str, Any] | None) -> int | None:
    return int(item["version"]["N"]) if item is not None else None


def _ledger_item(pk: str, jobs: dict[str, float], now: float, version: int | None) -> dict[str, Any]:
    return {
        KEY: _s(pk),
        "kind": _s("quota"),
        "version": _n((version or 0) + 1),
        TTL_ATTRIBUTE: _n(int(now + 2 * DAY_S)),
        "body": _s(json.dumps({"jobs": jobs}, separators=(",", ":"), sort_keys=True)),
    }
