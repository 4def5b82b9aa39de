"""The HTTP and WebSocket APIs on the embedded stack, through the local gateway, as a client sees them."""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time

import boto3
import httpx
import pytest
from PIL import Image
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from embedded.embedded_stack import DEMO_PHOTO
from models.api import API_SCHEMA_VERSION, ErrorMessage, ProgressMessage, ResultMessage
from workers.common.reviews import reviewed_result

FRAMES = {"progress": ProgressMessage, "result": ResultMessage, "error": ErrorMessage}


def create_job(stack, content_type: str = "image/jpeg") -> dict:
    response = httpx.post(f"{stack.api_url}/jobs", json={"filename": "shelf.jpg", "content_type": content_type})
    assert response.status_code == 201, response.text
    return response.json()


def upload(job: dict) -> None:
    with open(DEMO_PHOTO, "rb") as photo:
        response = httpx.post(
            job["upload"]["url"], data=job["upload"]["fields"], files={"file": ("shelf.jpg", photo, "image/jpeg")}
        )
    assert response.status_code in (200, 204), response.text


def receive_until_result(socket, timeout_s: float = 180) -> list[dict]:
    messages, deadline = [], time.monotonic() + timeout_s
    while True:
        messages.append(json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic()))))
        if messages[-1]["type"] == "result":
            return messages


def wait_until_finished(stack, job_id: str, timeout_s: float = 180):
    deadline = time.monotonic() + timeout_s
    while (record := stack.job(job_id)) is None or record.status.value not in ("completed", "failed"):
        assert time.monotonic() < deadline, f"job {job_id} did not finish"
        time.sleep(0.2)
    return record


def test_a_job_created_through_the_api_is_pushed_every_stage_then_the_books_over_the_websocket(stack):
    # Given a job created through the HTTP API and a WebSocket subscribed with its token
    job = create_job(stack)
    assert stack.job(job["job_id"]).status.value == "created"
    with connect(stack.websocket_url) as socket, connect(stack.websocket_url) as intruder:
        intruder.send(json.dumps({"action": "subscribe", "job_id": job["job_id"], "token": "guess"}))
        socket.send(json.dumps({"action": "subscribe", "job_id": job["job_id"], "token": job["token"]}))
        first = json.loads(socket.recv(timeout=10))
        assert (first["type"], first["status"]) == ("progress", "created")
        # When the photo is uploaded with the presigned POST
        upload(job)
        messages = receive_until_result(socket)
        # Then each stage arrived as it happened, then the result with the books
        # (at least once: the job's creation may still be in the stream when the socket subscribes)
        statuses = [m["status"] for m in messages if m["type"] == "progress"]
        assert list(dict.fromkeys(s for s in statuses if s != "created")) == [
            "uploaded",
            "ocr",
            "candidates",
            "validated",
            "completed",
        ]
        result = messages[-1]
        # the stored result's books, each with where it stands in the result (what a review points at)
        assert result["books"] == [
            b.model_dump(mode="json", exclude={"box"}) for b in reviewed_result(stack.result(job["job_id"]), []).books
        ]
        # each frame of the shape its schema describes (snake_case, versioned)
        for message in [first, *messages]:
            FRAMES[message["type"]].model_validate(message)
        # and the connection with the wrong token heard only that it may not, then was closed
        frame = json.loads(intruder.recv(timeout=10))
        assert (frame["type"], frame["code"]) == ("error", "forbidden") and frame["message"]
        FRAMES["error"].model_validate(frame)
        with pytest.raises(ConnectionClosed):
            intruder.recv(timeout=10)


def test_reading_a_job_needs_its_token_and_shows_stage_times_cost_and_results(stack):
    job = create_job(stack)
    upload(job)
    wait_until_finished(stack, job["job_id"])
    url = f"{stack.api_url}/jobs/{job['job_id']}"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, params={"token": "guess"}).status_code == 403
    body = httpx.get(url, headers={"Authorization": f"Bearer {job['token']}"}).json()
    assert body["status"] == "completed"
    assert list(body["stage_times"]) == ["created", "uploaded", "ocr", "candidates", "validated", "completed"]
    assert set(body["cost"]) >= {"textract_pages", "input_tokens", "output_tokens", "usd"}
    assert len(body["result"]["books"]) == body["book_count"] > 0


def test_a_late_subscriber_gets_the_result_at_once(stack):
    job = create_job(stack)
    upload(job)
    wait_until_finished(stack, job["job_id"])
    with connect(stack.websocket_url) as socket:
        socket.send(json.dumps({"action": "subscribe", "job_id": job["job_id"], "token": job["token"]}))
        messages = receive_until_result(socket, timeout_s=10)
    # at once: its current state, then the result (a stream record still in flight may repeat the state)
    assert messages[0]["type"] == "progress" and messages[-1]["type"] == "result"
    assert {m["status"] for m in messages} == {"completed"}
    assert messages[-1]["books"]


def test_listing_jobs_returns_recent_jobs_newest_first_page_by_page(stack):
    created = [create_job(stack)["job_id"] for _ in range(3)]
    first = httpx.get(f"{stack.api_url}/jobs", params={"limit": 2}).json()
    second = httpx.get(f"{stack.api_url}/jobs", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    listed = [j["job_id"] for j in first["jobs"] + second["jobs"]]
    assert listed[:3] == created[::-1]
    assert len(set(listed)) == len(listed)


def test_disconnecting_forgets_the_connection_and_pushing_to_it_then_says_gone(stack):
    # Given a subscribed connection
    job = create_job(stack)
    table = stack.client("dynamodb")
    connections = stack.outputs["connections_table"]
    with connect(stack.websocket_url) as socket:
        socket.send(json.dumps({"action": "subscribe", "job_id": job["job_id"], "token": job["token"]}))
        socket.recv(timeout=10)
        assert table.scan(TableName=connections)["Count"] >= 2  # its meta item and the subscription
        connection_id = next(iter(stack.gateway.connections))
    # When it closes
    deadline = time.monotonic() + 10
    while any(i["connection_id"]["S"] == connection_id for i in table.scan(TableName=connections)["Items"]):
        assert time.monotonic() < deadline, "the $disconnect route did not forget the connection"
        time.sleep(0.1)
    # Then the management API answers 410 Gone for it, as API Gateway does
    callback = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=stack.outputs["websocket_callback_url"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with pytest.raises(callback.exceptions.GoneException):
        callback.post_to_connection(ConnectionId=connection_id, Data=b"{}")


def test_an_unknown_websocket_action_gets_api_gateways_forbidden_message(stack):
    with connect(stack.websocket_url) as socket:
        socket.send(json.dumps({"action": "dance"}))
        assert json.loads(socket.recv(timeout=5))["message"] == "Forbidden"


def test_a_wrong_token_gets_a_forbidden_error_frame_then_the_connection_closes(stack):
    job = create_job(stack)
    with connect(stack.websocket_url) as socket:
        socket.send(json.dumps({"action": "subscribe", "job_id": job["job_id"], "token": "guess"}))
        frame = json.loads(socket.recv(timeout=10))
        assert frame == {
            "schema_version": API_SCHEMA_VERSION,
            "type": "error",
            "code": "forbidden",
            "job_id": job["job_id"],
            "message": "this token does not open that job; the connection is closed",
        }
        with pytest.raises(ConnectionClosed):
            socket.recv(timeout=10)


def test_a_failed_job_pushes_each_status_once_with_the_failures_time(stack):
    # Given a subscriber that subscribes while the upload is under way, as the page does
    job = create_job(stack, "image/png")
    tiny = io.BytesIO()
    Image.new("RGB", (1, 1)).save(tiny, "PNG")
    with connect(stack.websocket_url) as socket:
        files = {"file": ("x.png", tiny.getvalue(), "image/png")}
        uploading = threading.Thread(
            target=lambda: httpx.post(job["upload"]["url"], data=job["upload"]["fields"], files=files)
        )
        uploading.start()
        socket.send(json.dumps({"action": "subscribe", "job_id": job["job_id"], "token": job["token"]}))
        messages = receive_until_result(socket)
        uploading.join()
        # When the job has failed (and anything still in the stream has had time to arrive)
        with contextlib.suppress(TimeoutError):
            while True:
                messages.append(json.loads(socket.recv(timeout=2)))
    # Then each state was pushed once, in order, ending with the failure and its time
    states = [(m["type"], m["status"]) for m in messages]
    assert len(states) == len(set(states)), states
    statuses = [s for kind, s in states if kind == "progress"]
    assert statuses == sorted(statuses, key=["created", "uploaded", "failed"].index) and statuses[-1] == "failed"
    result = messages[-1]
    assert result["type"] == "result" and "too small to hold legible text" in result["error"]
    assert "failed" in result["stage_times"]
