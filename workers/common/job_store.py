"""The job table as a state machine: one item per job, moved forward only by conditional writes.

A job's status only ever advances (`enter`/`advance` refuse to go back or to leave `failed`), a stage records
when its side effects are done (`mark_done`) so a redelivery is recognised as one, and named leases
(`claim`) let exactly one caller do a thing once (notify, for instance). The DynamoDB calls go through
`aws.DynamoTable`; this module holds the rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

from pydantic import BaseModel

from models import DEFAULT_RETENTION_DAYS, BookReview, CostBreakdown, JobRecord, JobStatus, Stage
from models.stages import FIRST_STATUS, PIPELINE
from workers.common.attempts import ATTEMPT_PREFIX
from workers.common.aws import DynamoTable
from workers.common.uploads import UploadSpec

STATUS_ORDER: list[JobStatus] = list(dict.fromkeys(
    [FIRST_STATUS, *(status for stage in PIPELINE for status in (stage.entry_status, stage.exit_status))]
))
"""The order a job's status moves forward in, from the stages' order (models/stages.py); `failed` is outside
it, as any status may end there."""
DELETED_PREFIX = "deleted#"
"""A deleted job leaves only a tombstone (`deleted#<id>`: who deleted it, and when), so stages still in
flight for it, the dead-letter handler and the sweeper neither bring it back nor notify anyone."""
WATCHED = "watched"
"""Set on a job's item once a browser subscribes to it (`JobStore.mark_watched`)."""
UPLOAD = "upload"
"""The upload a job made through `POST /jobs` was created with (`workers.common.uploads.UploadSpec`)."""
PHOTOS_DONE = "photos_done"
"""A bookcase's map of its photos' jobs that are done, each counted once (`JobStore.count_photo`)."""
_INTERNAL_ATTRIBUTES = ("pk", "expires_at", "claims", "done", "token_hash", "owner", WATCHED, UPLOAD, PHOTOS_DONE)


def _to_dynamo(value: Any) -> Any:
    return json.loads(json.dumps(value), parse_float=Decimal)


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    return value


def record_from_item(item: dict[str, Any]) -> JobRecord:
    """A job table item (plain Python values, Decimals allowed) -> `JobRecord`, internals dropped."""
    data = _from_dynamo({k: v for k, v in item.items() if k not in _INTERNAL_ATTRIBUTES})
    return JobRecord.model_validate_json(json.dumps(data))


@dataclass(frozen=True)
class JobSnapshot:
    """The job record as one read (or one write's `ALL_NEW`) saw it, with the internal maps the stages
    consult: when each stage finished its side effects (`done`) and the leases taken on the job (`claims`)."""

    record: JobRecord | None
    done: dict[str, str] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)
    upload: UploadSpec | None = None
    owner: str | None = None

    @classmethod
    def of(cls, item: dict[str, Any] | None) -> JobSnapshot:
        if not item:
            return cls(None)
        return cls(
            record_from_item(item),
            {k: str(v) for k, v in (item.get("done") or {}).items()},
            dict(item.get("claims") or {}),
            UploadSpec.from_item(_from_dynamo(item[UPLOAD])) if item.get(UPLOAD) else None,
            item.get("owner"),
        )

    def finished(self, stage: Stage) -> bool:
        return stage.value in self.done

    def claim_done(self, name: str) -> bool:
        return bool((self.claims.get(name) or {}).get("done"))


class JobStore:
    """The job table: one item per job (`pk = job#<id>`), moved forward by conditional writes."""

    def __init__(self, table_name: str, *, retention_days: int = DEFAULT_RETENTION_DAYS):
        self.table_name = table_name
        self.ttl = timedelta(days=retention_days)  # `bookimg:retentionDays`: the item's `expires_at`

    @cached_property
    def _table(self) -> DynamoTable:
        return DynamoTable(self.table_name)

    @staticmethod
    def key(job_id: str) -> dict[str, str]:
        return {"pk": f"job#{job_id}"}

    @staticmethod
    def tombstone_key(job_id: str) -> dict[str, str]:
        return {"pk": f"{DELETED_PREFIX}{job_id}"}

    def delete(self, job_id: str, *, tombstone: dict[str, Any]) -> None:
        """Remove the job's record and its attempt notes, leaving a tombstone first: whatever reads the job
        after this call finds it deleted, never missing-so-make-it-again."""
        now = datetime.now(UTC)
        self._table.put_item(Item={
            **self.tombstone_key(job_id),
            **tombstone,
            "deleted_at": now.isoformat().replace("+00:00", "Z"),
            "expires_at": int((now + self.ttl).timestamp()),
        })
        self._table.delete_item(Key=self.key(job_id))
        self._table.delete_item(Key={"pk": f"{ATTEMPT_PREFIX}{job_id}"})

    def tombstone(self, job_id: str) -> dict[str, Any] | None:
        """The deleted job's tombstone (owner, token hash, when), or None if it was never deleted."""
        return self._table.get_item(Key=self.tombstone_key(job_id), ConsistentRead=True).get("Item")

    def is_deleted(self, job_id: str) -> bool:
        return self.tombstone(job_id) is not None

    def get(self, job_id: str) -> JobRecord | None:
        return self.snapshot(job_id).record

    def snapshot(self, job_id: str) -> JobSnapshot:
        """The record and its stage and claim maps, in one consistent read."""
        return JobSnapshot.of(self._table.get_item(Key=self.key(job_id), ConsistentRead=True).get("Item"))

    def create(
        self,
        job_id: str,
        *,
        image_key: str | None,
        status: JobStatus = JobStatus.UPLOADED,
        extra: dict[str, Any] | None = None,
    ) -> bool:
        """Create the record unless it exists; True if this call created it.

        `extra` holds internal attributes that are not part of `JobRecord` (e.g. the API's `token_hash`).
        """
        now = datetime.now(UTC)
        record = JobRecord(
            job_id=job_id,
            status=status,
            created_at=now,
            updated_at=now,
            stage_times={status.value: now},
            image_key=image_key,
        )
        item = {
            **self.key(job_id),
            **_to_dynamo(record.model_dump(mode="json")),
            "expires_at": int((now + self.ttl).timestamp()),
            # the maps `claim` and `mark_done` write into, there from the start: one write each, not three
            "claims": {},
            "done": {},
            **(extra or {}),
        }
        return self._table.write_if("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)") is not None

    def advance(self, job_id: str, status: JobStatus, **fields: Any) -> bool:
        """Move the job to `status` unless it is already there, past it, or failed."""
        return self._table.write_if("update_item", **self._advance_request(job_id, status, fields)) is not None

    def enter(self, job_id: str, status: JobStatus, **fields: Any) -> JobSnapshot:
        """`advance`, and the job as it stands after it: a stage learns from its one write whether it already
        ran (a redelivery), with no read. Only when the job is already past `status` (or failed) does
        it take a consistent read."""
        response = self._table.write_if("update_item", **self._advance_request(job_id, status, fields),
                                        ReturnValues="ALL_NEW")
        return JobSnapshot.of(response["Attributes"]) if response is not None else self.snapshot(job_id)

    def _advance_request(self, job_id: str, status: JobStatus, fields: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        earlier = STATUS_ORDER[: STATUS_ORDER.index(status)]
        names = {"#s": "status", "#t": "stage_times", "#st": status.value, "#u": "updated_at"}
        values: dict[str, Any] = {":s": status.value, ":now": now}
        sets = ["#s = :s", "#t.#st = :now", "#u = :now"]
        for i, (name, value) in enumerate(fields.items()):
            names[f"#f{i}"] = name
            values[f":f{i}"] = _to_dynamo(value.model_dump(mode="json") if isinstance(value, BaseModel) else value)
            sets.append(f"#f{i} = :f{i}")
        allowed = []
        for i, previous in enumerate(earlier):
            values[f":p{i}"] = previous.value
            allowed.append(f":p{i}")
        condition = f"attribute_exists(pk) AND #s IN ({', '.join(allowed)})" if allowed else "attribute_exists(pk)"
        return {
            "Key": self.key(job_id),
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def fail(self, job_id: str, stage: Stage, reason: str) -> bool:
        """Mark the job failed, with the failure's time among its stage times (creating the record if it never
        got one); False if it already ended."""
        now = datetime.now(UTC)
        stamp = now.isoformat().replace("+00:00", "Z")
        failed = {
            "#s": "status", "#e": "error", "#fs": "failed_stage", "#u": "updated_at", "#t": "stage_times",
        }
        values = {
            ":failed": JobStatus.FAILED.value,
            ":completed": JobStatus.COMPLETED.value,
            ":reason": reason[:2000],
            ":stage": stage.value,
            ":now": stamp,
        }
        sets = "SET #s = :failed, #e = :reason, #fs = :stage, #u = :now"
        # the usual case, one write: a job with its stage times gets the failure's among them
        if self._table.write_if(
            "update_item",
            Key=self.key(job_id),
            UpdateExpression=f"{sets}, #t.#failed = :now",
            ConditionExpression="attribute_exists(#t) AND NOT (#s IN (:failed, :completed))",
            ExpressionAttributeNames={**failed, "#failed": JobStatus.FAILED.value},
            ExpressionAttributeValues=values,
        ) is not None:
            return True
        # a job failed before it ever got a record (an upload refused on its first event): made here, unless
        # it has none because it was deleted
        if self.is_deleted(job_id):
            return False
        written = self._table.write_if(
            "update_item",
            Key=self.key(job_id),
            UpdateExpression=(
                f"{sets}, #t = :times, #c = if_not_exists(#c, :now), #j = :job, #v = :v, "
                "#cost = if_not_exists(#cost, :cost), #x = if_not_exists(#x, :ttl)"
            ),
            ConditionExpression=(
                "attribute_not_exists(#t) AND (attribute_not_exists(pk) OR NOT (#s IN (:failed, :completed)))"
            ),
            ExpressionAttributeNames={
                **failed,
                "#c": "created_at",
                "#j": "job_id",
                "#v": "schema_version",
                "#cost": "cost",
                "#x": "expires_at",
            },
            ExpressionAttributeValues={
                **values,
                ":times": {JobStatus.FAILED.value: stamp},
                ":job": job_id,
                ":v": "1",
                ":cost": _to_dynamo(CostBreakdown().model_dump(mode="json")),
                ":ttl": int((now + self.ttl).timestamp()),
            },
        )
        return written is not None

    def claim(self, job_id: str, name: str, owner: str, *, lease_s: int) -> bool:
        """Take a named lease on the job (e.g. the right to notify), unless someone else holds it or it is done:
        a finished claim is never taken again, so no caller needs to read it first."""
        now = int(datetime.now(UTC).timestamp())
        return self._update_in_map(
            "claims",
            Key=self.key(job_id),
            UpdateExpression="SET claims.#n = :lease",
            ConditionExpression=(
                "attribute_exists(pk) AND (attribute_not_exists(claims.#n) OR (claims.#n.#d <> :done "
                "AND (claims.#n.#o = :owner OR claims.#n.#until < :now)))"
            ),
            ExpressionAttributeNames={"#n": name, "#o": "owner", "#until": "until", "#d": "done"},
            ExpressionAttributeValues={
                ":lease": {"owner": owner, "until": now + lease_s, "done": False},
                ":owner": owner,
                ":now": now,
                ":done": True,
            },
        )

    def release_claim(self, job_id: str, name: str, owner: str) -> None:
        """Give up a lease we hold and did not finish (a failed attempt), so a retry need not wait it out."""
        self._table.write_if(  # None when it is not ours any more: nothing to give up
            "update_item",
            Key=self.key(job_id),
            UpdateExpression="SET claims.#n.#until = :zero",
            ConditionExpression="claims.#n.#o = :owner AND claims.#n.#d <> :done",
            ExpressionAttributeNames={"#n": name, "#o": "owner", "#until": "until", "#d": "done"},
            ExpressionAttributeValues={":zero": 0, ":owner": owner, ":done": True},
        )

    def finish_claim(self, job_id: str, name: str) -> None:
        self._table.update_item(
            Key=self.key(job_id),
            UpdateExpression="SET claims.#n.#d = :done",
            ExpressionAttributeNames={"#n": name, "#d": "done"},
            ExpressionAttributeValues={":done": True},
        )

    def is_claim_done(self, job_id: str, name: str) -> bool:
        return self.snapshot(job_id).claim_done(name)

    def mark_done(self, job_id: str, stage: Stage) -> None:
        """Record that a stage finished its side effects, so a redelivery is recognised as one."""
        self._update_in_map(
            "done",
            Key=self.key(job_id),
            UpdateExpression="SET done.#s = :now",
            ExpressionAttributeNames={"#s": stage.value},
            ExpressionAttributeValues={":now": datetime.now(UTC).isoformat()},
        )

    def _update_in_map(self, map_name: str, **update: Any) -> bool:
        """An update that sets a key inside one of the record's maps (`claims`, `done`); False when its condition
        did not hold. `create` and `reopen` make both maps; a record without one (a job failed before it was
        ever created) gets it made, and the update runs again: one write in the usual case."""
        from botocore.exceptions import ClientError

        try:
            return self._table.write_if("update_item", **update) is not None
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ValidationException":  # the map is there: a real error
                raise
        self._table.update_item(
            Key=update["Key"],
            UpdateExpression=f"SET {map_name} = if_not_exists({map_name}, :empty)",
            ExpressionAttributeValues={":empty": {}},
        )
        return self._table.write_if("update_item", **update) is not None

    def count_photo(self, bookcase_id: str, photo_job_id: str) -> JobSnapshot:
        """Count one of a bookcase's photos done, once however often it is told (the photo's job is a key of a
        map, and the count grows only with the key's first write); the bookcase as it stands after."""
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        response = self._table.write_if(
            "update_item",
            Key=self.key(bookcase_id),
            UpdateExpression="SET #pd.#p = :now, #ph.#d = #ph.#d + :one, #u = :now",
            ConditionExpression="attribute_exists(pk) AND attribute_exists(#ph) AND attribute_not_exists(#pd.#p)",
            ExpressionAttributeNames={"#pd": PHOTOS_DONE, "#p": photo_job_id, "#ph": "photos", "#d": "done",
                                      "#u": "updated_at"},
            ExpressionAttributeValues={":now": now, ":one": 1},
            ReturnValues="ALL_NEW",
        )
        return JobSnapshot.of(response["Attributes"]) if response is not None else self.snapshot(bookcase_id)

    def save_reviews(self, job_id: str, reviews: list[BookReview], *, seen: int) -> bool:
        """Store the job's reviews, if the job still has the `seen` reviews they were merged with: a review
        saved meanwhile by another call is never overwritten unseen. False when it was (or the job is gone)."""
        return self._table.write_if(
            "update_item",
            Key=self.key(job_id),
            UpdateExpression="SET reviews = :reviews",
            ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(reviews) OR size(reviews) = :seen)",
            ExpressionAttributeValues={
                ":reviews": _to_dynamo([review.model_dump(mode="json") for review in reviews]),
                ":seen": seen,
            },
        ) is not None

    def mark_watched(self, job_id: str) -> None:
        """Mark the job watched: from this write on, its changes reach the notifier."""
        self._table.write_if(  # None when the job expired since it was read: nothing left to watch
            "update_item",
            Key=self.key(job_id),
            UpdateExpression="SET #w = :yes",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#w": WATCHED},
            ExpressionAttributeValues={":yes": True},
        )

    def is_done(self, job_id: str, stage: Stage) -> bool:
        return self.snapshot(job_id).finished(stage)

    def reopen(self, job_id: str, status: JobStatus) -> None:
        """Put a failed job back at `status`, for a redriven message to carry it on from there."""
        self._table.update_item(
            Key=self.key(job_id),
            UpdateExpression="SET #s = :s, claims = :empty, done = :empty REMOVE #e, failed_stage",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#s": "status", "#e": "error"},
            ExpressionAttributeValues={":s": status.value, ":empty": {}},
        )

    def recent(self, limit: int = 20) -> list[JobRecord]:
        items = self._table.scan(Limit=500).get("Items", [])
        records = [record_from_item(i) for i in items if str(i.get("pk", "")).startswith("job#")]
        return sorted(records, key=lambda r: r.created_at, reverse=True)[:limit]

