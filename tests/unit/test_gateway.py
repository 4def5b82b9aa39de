"""The local API Gateway on its own: routes from the recorded program, payload 2.0 events, the
WebSocket route selection and the `@connections` management API."""

from __future__ import annotations

import json
import time

import boto3
import httpx
import pytest
from websockets.sync.client import connect

from embedded.gateway import LocalGateway, route_pattern
from embedded.mocks import ApiRecord, IntegrationRecord, RouteRecord, StackRecord
from models.stages import page_steps


def _record() -> StackRecord:
    record = StackRecord()
    http = ApiRecord(id="http1", name="api", protocol="HTTP", endpoint="", execution_arn="arn")
    http.integrations["i1"] = IntegrationRecord("i1", "AWS_PROXY", "arn:aws:lambda:r:1:function:api-fn", "2.0")
    for key in ("GET /jobs", "GET /jobs/{id}", "POST /jobs"):
        http.routes[key] = RouteRecord(key, "integrations/i1")
    ws = ApiRecord(
        id="ws1",
        name="ws",
        protocol="WEBSOCKET",
        endpoint="",
        execution_arn="arn",
        route_selection_expression="$request.body.action",
        stages={"live": ""},
    )
    ws.integrations["i2"] = IntegrationRecord("i2", "AWS_PROXY", "arn:aws:lambda:r:1:function:ws-fn")
    for key in ("$connect", "$disconnect", "echo"):
        ws.routes[key] = RouteRecord(key, "integrations/i2")
    record.apis = {"http1": http, "ws1": ws}
    record.outputs = {"api_url": "http://x", "websocket_url": "ws://x/live", "max_upload_bytes": 10}
    return record


@pytest.fixture
def gateway():
    calls: list[tuple[str, dict]] = []

    def invoke(function, event):
        calls.append((function, event))
        if function == "ws-fn":
            return {"statusCode": 403 if (event.get("queryStringParameters") or {}).get("deny") else 200}
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(event)}

    with LocalGateway(log=print).attach(_record(), invoke) as gw:
        gw.calls = calls
        yield gw


def test_route_keys_become_path_patterns():
    method, pattern = route_pattern("GET /jobs/{id}")
    assert method == "GET"
    assert pattern.match("/jobs/abc").groupdict() == {"id": "abc"}
    assert pattern.match("/jobs/abc/more") is None


def test_an_http_request_reaches_the_routes_function_as_a_payload_2_event(gateway):
    # When a client calls a parameterised route with a query string and a header
    response = httpx.get(f"{gateway.url}/jobs/j1?token=t&x=1", headers={"X-Job-Token": "abc"})
    # Then the integration got API Gateway's v2 event for that route
    event = response.json()
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /jobs/{id}"
    assert event["pathParameters"] == {"id": "j1"}
    assert event["queryStringParameters"] == {"token": "t", "x": "1"}
    assert event["headers"]["x-job-token"] == "abc"
    assert event["requestContext"]["http"]["method"] == "GET"
    # the literal route wins over the parameterised one, and unknown paths are API Gateway's 404
    assert httpx.get(f"{gateway.url}/jobs").json()["routeKey"] == "GET /jobs"
    assert httpx.delete(f"{gateway.url}/jobs/j1").status_code == 404


def test_a_burst_of_clients_connecting_at_once_is_answered_every_one(gateway):
    import socket
    import threading
    from urllib.parse import urlsplit

    # Given 100 clients that connect at the same moment, as a run of many photos does (a job and a WebSocket
    # each); fewer than 128, the smallest cap a kernel puts on a listen backlog (`net.core.somaxconn`)
    host, port = urlsplit(gateway.url).hostname, urlsplit(gateway.url).port
    clients = 100
    start = threading.Barrier(clients, timeout=60)  # a client that never starts breaks it, not the run
    answers: list[bytes] = []
    failures: list[str] = []

    def call() -> None:
        start.wait()
        try:
            with socket.create_connection((host, port), timeout=20) as sock:
                sock.sendall(b"GET /jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
            answers.append(answer)
        except (OSError, threading.BrokenBarrierError) as error:
            failures.append(repr(error))

    threads = [threading.Thread(target=call, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then none is dropped or reset while waiting to be accepted: every one gets the route's answer
    assert failures == []
    assert len(answers) == clients and all(answer.startswith(b"HTTP/1.1 200") for answer in answers)


def test_clients_connecting_at_once_wait_in_the_local_servers_queue_until_it_accepts_them():
    import select
    import socket
    from http.server import BaseHTTPRequestHandler

    from embedded.local_http import LocalHTTPServer

    # Given a local server that is listening but busy (not accepting yet)
    server = LocalHTTPServer(BaseHTTPRequestHandler)
    clients: list[socket.socket] = []
    try:
        # When 100 clients connect one after another
        for _ in range(100):
            clients.append(socket.create_connection(server.server_address[:2], timeout=10))
        # Then every one of them is waiting in its queue once it gets round to accepting
        accepted, deadline = 0, time.monotonic() + 10
        while accepted < len(clients) and time.monotonic() < deadline:
            if select.select([server.socket], [], [], 0.1)[0]:
                connection, _ = server.socket.accept()
                connection.close()
                accepted += 1
        assert accepted == len(clients)
    finally:
        for client in clients:
            client.close()
        server.server_close()


def test_the_page_and_its_config_are_served_beside_the_api(gateway):
    assert "<html" in httpx.get(f"{gateway.url}/").text
    assert httpx.get(f"{gateway.url}/app.js").headers["content-type"].startswith("text/javascript")
    assert httpx.get(f"{gateway.url}/config.json").json() == {
        "api_url": "http://x",
        "websocket_url": "ws://x/live",
        "max_upload_bytes": 10,
        "steps": page_steps(),
    }


def test_websocket_connect_messages_and_disconnect_become_route_events(gateway):
    ws_url = gateway.url.replace("http://", "ws://") + "/live"
    with connect(ws_url) as socket:
        socket.send(json.dumps({"action": "echo", "n": 1}))
        socket.send("not json")  # no route and no $default: API Gateway's Forbidden message
        assert json.loads(socket.recv(timeout=60))["message"] == "Forbidden"
    events = [e for f, e in gateway.calls if f == "ws-fn"]
    # the $disconnect invocation happens as the server notices the close (a thread of its own: generous)
    deadline = time.monotonic() + 60
    while len(events) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
        events = [e for f, e in gateway.calls if f == "ws-fn"]
    kinds = [(e["requestContext"]["routeKey"], e["requestContext"]["eventType"]) for e in events]
    assert kinds == [("$connect", "CONNECT"), ("echo", "MESSAGE"), ("$disconnect", "DISCONNECT")]
    ids = {e["requestContext"]["connectionId"] for e in events}
    assert len(ids) == 1
    assert events[1]["body"] == json.dumps({"action": "echo", "n": 1})
    assert events[1]["requestContext"]["stage"] == "live"


def test_a_connect_route_that_refuses_refuses_the_handshake(gateway):
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus), connect(gateway.url.replace("http://", "ws://") + "/live?deny=1"):
        pass


def test_the_management_api_pushes_to_live_connections_and_says_gone_for_others(gateway):
    management = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"{gateway.url}/live",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    with connect(gateway.url.replace("http://", "ws://") + "/live") as socket:
        (connection_id,) = gateway.connections
        management.post_to_connection(ConnectionId=connection_id, Data=b'{"hello": 1}')
        assert json.loads(socket.recv(timeout=5)) == {"hello": 1}
        assert management.get_connection(ConnectionId=connection_id)["ResponseMetadata"]["HTTPStatusCode"] == 200
    for unknown in ("nope", "a/b+c="):
        with pytest.raises(management.exceptions.GoneException):
            management.post_to_connection(ConnectionId=unknown, Data=b"{}")


@pytest.fixture
def api_with_cors():
    """The HTTP API as the program declares it: a route per method, an ANY route per path, CORS configured."""
    record = _record()
    http = record.apis["http1"]
    for key in ("ANY /jobs", "ANY /jobs/{id}"):
        http.routes[key] = RouteRecord(key, "integrations/i1")
    http.cors = {
        "allowOrigins": ["https://app.example"],
        "allowMethods": ["GET", "OPTIONS", "POST"],
        "allowHeaders": ["content-type", "x-job-token"],
        "exposeHeaders": ["Location"],
        "maxAge": 3600,
    }

    def invoke(function, event):
        body = json.dumps({"routeKey": event["routeKey"]})
        return {"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "https://evil.example"}, "body": body}

    with LocalGateway().attach(record, invoke) as gw:
        yield gw


def test_a_route_with_the_requests_method_beats_the_paths_any_route(api_with_cors):
    url = api_with_cors.url
    assert httpx.get(f"{url}/jobs").json()["routeKey"] == "GET /jobs"
    assert httpx.post(f"{url}/jobs").json()["routeKey"] == "POST /jobs"
    assert httpx.put(f"{url}/jobs").json()["routeKey"] == "ANY /jobs"
    assert httpx.get(f"{url}/jobs/j1").json()["routeKey"] == "GET /jobs/{id}"
    assert httpx.delete(f"{url}/jobs/j1").json()["routeKey"] == "ANY /jobs/{id}"
    assert httpx.get(f"{url}/nowhere").status_code == 404


def test_a_preflight_from_an_allowed_origin_is_answered_from_the_cors_configuration(api_with_cors):
    # When a page on the allowed origin asks whether it may POST JSON with a job token
    response = httpx.options(
        f"{api_with_cors.url}/jobs",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type, X-Job-Token",
        },
    )
    # Then API Gateway's answer says it may, for an hour, without invoking the function
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://app.example"
    assert set(response.headers["access-control-allow-methods"].split(",")) == {"GET", "OPTIONS", "POST"}
    assert set(response.headers["access-control-allow-headers"].split(",")) == {"content-type", "x-job-token"}
    assert response.headers["access-control-max-age"] == "3600"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        {"Origin": "https://app.example", "Access-Control-Request-Method": "DELETE"},
        {
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-secret",
        },
    ],
)
def test_a_preflight_for_another_origin_method_or_header_gets_no_cors_headers(api_with_cors, headers):
    response = httpx.options(f"{api_with_cors.url}/jobs", headers=headers)
    assert response.status_code == 204
    assert not any(name.startswith("access-control-") for name in response.headers)


def test_answers_to_an_allowed_origin_carry_the_gateways_cors_headers_not_the_functions(api_with_cors):
    allowed = httpx.get(f"{api_with_cors.url}/jobs", headers={"Origin": "https://app.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert allowed.headers["access-control-expose-headers"] == "Location"
    assert allowed.headers["vary"] == "Origin"
    other = httpx.get(f"{api_with_cors.url}/jobs", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers  # nor the function's own


def test_any_origin_is_answered_with_a_star_when_the_configuration_allows_every_origin(api_with_cors):
    api_with_cors.http_api.cors["allowOrigins"] = ["*"]
    response = httpx.get(f"{api_with_cors.url}/jobs", headers={"Origin": "https://anyone.example"})
    assert response.headers["access-control-allow-origin"] == "*"
