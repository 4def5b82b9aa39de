"""Small adapters over the AWS services the workers use (clients, DynamoDB items, SQS, S3, SNS), so logic and
tests can swap them; the job table's rules are in `job_store`.

boto3 finds the embedded emulator through `AWS_ENDPOINT_URL`, which the local runtime sets; the
adapters themselves know nothing of where they run.
"""

from __future__ import annotations

import json
from functools import cache, cached_property
from typing import Any, Protocol

from pydantic import BaseModel

from models import (
    dump_message,
)
from workers.common.dynamo_types import deserialize, serialize
from workers.common.errors import PermanentError

_RETRIES = {"mode": "standard", "max_attempts": 5}


def session():
    """The one botocore session of the process (see `botocore_session`): each model parsed once, for every client.

    botocore rather than boto3: the workers need no resource layer or transfer manager, and importing and
    building those is a large part of a cold start. Fault injection hooks this session (context.py).
    """
    from workers.common.botocore_session import session as shared

    return shared()


def new_client(service: str):
    """A client on the shared session, with standard retries, for the environment of this moment."""
    from botocore.config import Config

    return session().create_client(service, config=Config(retries=_RETRIES))


@cache
def client(service: str):
    """One client per service per process, created on first use (cold start stays small)."""
    return new_client(service)


def download_file(bucket: str, key: str, target: str) -> None:
    """S3's managed (multipart, parallel) download to a file, through boto3 on the shared session."""
    import boto3

    boto3.Session(botocore_session=session()).client("s3").download_file(bucket, key, target)


# --- DynamoDB items ------------------------------------------------------------------------------

def _typed(values: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if values is None else {k: serialize(v) for k, v in values.items()}


def _plain(item: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if item is None else {k: deserialize(v) for k, v in item.items()}


class DynamoTable:
    """The calls of boto3's `Table` resource the workers make, over the low-level client: items, keys and
    expression values go in and come out as plain Python values (numbers as `Decimal`), as with the resource,
    without building boto3's resource layer at cold start. Expressions are strings."""

    _ITEM_ARGS = ("Key", "Item", "ExclusiveStartKey")

    def __init__(self, name: str):
        self.name = name

    @cached_property
    def client(self):
        """This table's own client, made on first use with the environment of that moment (as `boto3.resource`
        was): a process that talks to more than one stack (tests, the CLI) reaches the right one."""
        return new_client("dynamodb")

    def _call(self, operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        request = {"TableName": self.name, **kwargs}
        for arg in (*self._ITEM_ARGS, "ExpressionAttributeValues"):
            if arg in request:
                request[arg] = _typed(request[arg])
        response = getattr(self.client, operation)(**request)
        for arg in ("Item", "Attributes", "LastEvaluatedKey"):
            if arg in response:
                response[arg] = _plain(response[arg])
        if "Items" in response:
            response["Items"] = [_plain(item) for item in response["Items"]]
        return response

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("get_item", kwargs)

    def write_if(self, operation: str, **kwargs: Any) -> dict[str, Any] | None:
        """A conditional `put_item`, `update_item` or `delete_item`: its response, or None when its condition
        did not hold."""
        from botocore.exceptions import ClientError

        try:
            return self._call(operation, kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("put_item", kwargs)

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("update_item", kwargs)

    def delete_item(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("delete_item", kwargs)

    def query(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("query", kwargs)

    def scan(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("scan", kwargs)

    def delete_many(self, keys: list[dict[str, Any]], *, attempts: int = 8) -> None:
        """Delete items 25 at a time, resending what DynamoDB left unprocessed (as boto3's `batch_writer`)."""
        import time

        for start in range(0, len(keys), 25):
            pending = [{"DeleteRequest": {"Key": _typed(key)}} for key in keys[start : start + 25]]
            for attempt in range(attempts):
                response = self.client.batch_write_item(RequestItems={self.name: pending})
                pending = (response.get("UnprocessedItems") or {}).get(self.name) or []
                if not pending:
                    break
                time.sleep(min(1.0, 0.05 * 2**attempt))
            else:
                raise RuntimeError(f"{len(pending)} deletes from {self.name} stayed unprocessed")


# --- queues ------------------------------------------------------------------------------------


class MessageSender(Protocol):
    def send(self, queue_url: str, message: BaseModel, *, attributes: dict[str, str] | None = None) -> None: ...


class SqsSender:
    def send(self, queue_url: str, message: BaseModel, *, attributes: dict[str, str] | None = None) -> None:
        self.send_raw(queue_url, dump_message(message), attributes or {})

    def send_raw(self, queue_url: str, body: str, attributes: dict[str, str], *, delay_s: int = 0) -> None:
        """A body already serialised (a requeued copy keeps its bytes), string attributes capped at 1 KB."""
        client("sqs").send_message(
            QueueUrl=queue_url,
            MessageBody=body,
            MessageAttributes={name: {"DataType": "String", "StringValue": v[:1024]} for name, v in attributes.items()},
            DelaySeconds=max(0, min(900, delay_s)),
        )

    def delay(self, queue_url: str, receipt_handle: str, seconds: int) -> None:
        client("sqs").change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=max(0, min(43200, seconds))
        )


# --- objects -----------------------------------------------------------------------------------


class ObjectStore(Protocol):
    def head(self, bucket: str, key: str) -> dict[str, Any]: ...
    def get(self, bucket: str, key: str, *, max_bytes: int | None = None) -> bytes: ...
    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> None: ...
    def delete(self, bucket: str, key: str) -> None:
        """Remove the object; removing one that is not there is no error (as S3's DeleteObject)."""
        ...
    def link(self, bucket: str, key: str, *, expires_s: int) -> str:
        """A presigned GET URL of the object: whoever holds it may read the object until it expires."""
        ...


class S3Store:
    def head(self, bucket: str, key: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            return client("s3").head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("404", "NoSuchKey", "NotFound"):
                raise PermanentError(f"the uploaded object {key} no longer exists") from exc
            if code in ("403", "AccessDenied"):  # what S3 answers for a missing key without ListBucket
                raise PermanentError(f"the uploaded object {key} is missing or not readable") from exc
            raise

    def get(self, bucket: str, key: str, *, max_bytes: int | None = None) -> bytes:
        extra = {"Range": f"bytes=0-{max_bytes}"} if max_bytes else {}
        return client("s3").get_object(Bucket=bucket, Key=key, **extra)["Body"].read()

    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)

    def delete(self, bucket: str, key: str) -> None:
        client("s3").delete_object(Bucket=bucket, Key=key)

    def link(self, bucket: str, key: str, *, expires_s: int) -> str:
        return client("s3").generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_s
        )


# --- results topic -----------------------------------------------------------------------------


class Publisher(Protocol):
    def publish(self, topic_arn: str, *, default: str, email: str, subject: str, attributes: dict[str, str]) -> str: ...


class SnsPublisher:
    def publish(self, topic_arn: str, *, default: str, email: str, subject: str, attributes: dict[str, str]) -> str:
        """One message, two renderings: JSON for webhooks and queues, readable text for email."""
        return client("sns").publish(
            TopicArn=topic_arn,
            Message=json.dumps({"default": default, "email": email}),
            MessageStructure="json",
            Subject=subject[:100],
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )["MessageId"]
