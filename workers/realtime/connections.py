"""Adapters of the WebSocket side: the connections table and API Gateway's `@connections` API.

Connections table: hash `connection_id`, range `sk`; one `meta` item per connection and one
`job#<id>` item per subscription, which carries `job_id` for the `by_job` index. Every item has
`expires_at` (DynamoDB TTL), so connections that vanished without a `$disconnect` age out.
"""

from __future__ import annotations

import json
import time
from functools import cached_property
from typing import Any, Protocol

JOB_INDEX = "by_job"
META = "meta"


class ConnectionStore(Protocol):
    def connect(self, connection_id: str, *, ttl_s: int, source_ip: str | None = None) -> None: ...
    def subscribe(self, connection_id: str, job_id: str, *, ttl_s: int) -> None: ...
    def advance_seen(self, connection_id: str, job_id: str, status: str, rank: int) -> bool:
        """Record that this subscriber is being shown `status` (of `rank`, `STATUS_RANK`); False when it was
        already shown it or a later one, or is no longer subscribed: whoever gets True pushes, so each status
        reaches each subscriber once."""
        ...
    def restore_seen(self, connection_id: str, job_id: str, status: str, previous: str | None, rank: int) -> None:
        """Undo `advance_seen` of `status` after its push failed, back to `previous` (of `rank`), so a retry
        pushes it."""
        ...
    def subscribers(self, job_id: str) -> dict[str, str | None]:
        """Connection id -> the last status it was shown (None until then)."""
        ...
    def forget(self, connection_id: str) -> None: ...


class Pusher(Protocol):
    def push(self, connection_id: str, message: dict[str, Any]) -> bool:
        """Send one message; False when the connection is gone (HTTP 410)."""
        ...
    def close(self, connection_id: str) -> None:
        """Close the connection from our side (its `$disconnect` route then runs)."""
        ...


class DynamoConnectionStore:
    def __init__(self, table_name: str):
        self.table_name = table_name

    @cached_property
    def _table(self):
        from workers.common.aws import DynamoTable

        return DynamoTable(self.table_name)

    def connect(self, connection_id: str, *, ttl_s: int, source_ip: str | None = None) -> None:
        now = int(time.time())
        item = {"connection_id": connection_id, "sk": META, "connected_at": now, "expires_at": now + ttl_s}
        if source_ip:
            item["source_ip"] = source_ip
        self._table.put_item(Item=item)

    def subscribe(self, connection_id: str, job_id: str, *, ttl_s: int) -> None:
        now = int(time.time())
        self._table.put_item(
            Item={
                "connection_id": connection_id,
                "sk": f"job#{job_id}",
                "job_id": job_id,
                "subscribed_at": now,
                "expires_at": now + ttl_s,
            }
        )

    def advance_seen(self, connection_id: str, job_id: str, status: str, rank: int) -> bool:
        # a later status, or another one as far along (a redriven job that failed, then completed)
        return self._table.write_if(  # None when shown already, or a disconnect forgot the subscription
            "update_item",
            Key={"connection_id": connection_id, "sk": f"job#{job_id}"},
            UpdateExpression="SET seen_status = :s, seen_rank = :r",
            ConditionExpression=(
                "attribute_exists(connection_id) AND (attribute_not_exists(seen_rank) OR seen_rank < :r "
                "OR (seen_rank = :r AND seen_status <> :s))"
            ),
            ExpressionAttributeValues={":s": status, ":r": rank},
        ) is not None

    def restore_seen(self, connection_id: str, job_id: str, status: str, previous: str | None, rank: int) -> None:
        key = {"connection_id": connection_id, "sk": f"job#{job_id}"}
        if previous is None:
            update = {"UpdateExpression": "REMOVE seen_status, seen_rank", "ExpressionAttributeValues": {":s": status}}
        else:
            update = {
                "UpdateExpression": "SET seen_status = :p, seen_rank = :r",
                "ExpressionAttributeValues": {":s": status, ":p": previous, ":r": rank},
            }
        self._table.write_if(  # None when a later status was shown meanwhile: nothing to undo
            "update_item", Key=key, ConditionExpression="seen_status = :s", **update
        )

    def subscribers(self, job_id: str) -> dict[str, str | None]:
        ids: dict[str, str | None] = {}
        query: dict[str, Any] = {
            "IndexName": JOB_INDEX,
            "KeyConditionExpression": "#j = :j",
            "ExpressionAttributeNames": {"#j": "job_id"},
            "ExpressionAttributeValues": {":j": job_id},
        }
        while True:
            response = self._table.query(**query)
            ids.update((item["connection_id"], item.get("seen_status")) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return ids
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def forget(self, connection_id: str) -> None:
        table = self._table
        items = table.query(
            KeyConditionExpression="#c = :c",
            ExpressionAttributeNames={"#c": "connection_id"},
            ExpressionAttributeValues={":c": connection_id},
        ).get("Items", [])
        table.delete_many([{"connection_id": item["connection_id"], "sk": item["sk"]} for item in items])


class ManagementApiPusher:
    """`apigatewaymanagementapi.post_to_connection` at the stage's callback URL
    (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`, or the local gateway)."""

    def __init__(self, endpoint_url: str):
        if not endpoint_url:
            raise RuntimeError("BOOKIMG_WEBSOCKET_CALLBACK_URL is not set")
        self.endpoint_url = endpoint_url

    @cached_property
    def _client(self):
        """Created on the first push: a status change nobody subscribed to needs no client."""
        from botocore.config import Config

        from workers.common.aws import session

        return session().create_client(
            "apigatewaymanagementapi",
            endpoint_url=self.endpoint_url,
            config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=5),
        )

    def push(self, connection_id: str, message: dict[str, Any]) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=json.dumps(message).encode())
            return True
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if error.get("Code") == "GoneException" or status == 410:
                return False
            raise

    def close(self, connection_id: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self._client.delete_connection(ConnectionId=connection_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "GoneException":  # closed already: as we wanted
                raise
