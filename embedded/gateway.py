"""The local API Gateway: one HTTP server on 127.0.0.1 (free port) playing execute-api for the
APIs the Pulumi program declared, plus the web page.

- `GET /`, `/app.js`, `/review.js`, `/style.css`: the static page (web/), `GET /config.json`: the API and WebSocket
  URLs the program exported (what CloudFront serves from the web bucket in the cloud).
- HTTP API: a request matching a declared route (`GET /jobs/{id}`) becomes an API Gateway payload 2.0
  event for the route's integration Lambda, invoked through the runtime's function host; the proxy
  response (or a bare object, as API Gateway accepts) becomes the HTTP response. JWT routes need a
  bearer token whose issuer, audience and expiry match the authorizer (claims are passed on; the
  signature is NOT verified locally, there is no JWKS to fetch).
- WebSocket API: an `Upgrade: websocket` request on the same port is handed to the `websockets`
  library. The handshake runs `$connect` (a non-2xx answer refuses it), each text message is routed
  with the API's route selection expression (`$request.body.action`, else `$default`), closing runs
  `$disconnect`; events carry `requestContext.{routeKey, eventType, connectionId, domainName, stage,
  apiId, requestId, messageId}` as API Gateway's do.
- `@connections`: `POST|GET|DELETE /{stage}/@connections/{id}` is the management API the notifier
  calls through boto3 (`apigatewaymanagementapi`, endpoint = the stage's callback URL); an unknown or
  closed connection answers 410 `GoneException`.

- Routes are matched as API Gateway does: a literal path before one with parameters, a route with the
  request's method before an `ANY` route. The program declares an `ANY` route per path, whose function
  answers a method the path lacks with 405 and `Allow`; a path no route matches is 404.
- CORS as the API's `corsConfiguration` says (API Gateway answers it, never the function): a preflight
  `OPTIONS` (with `Origin` and `Access-Control-Request-Method`) is answered 204 with the allowed methods,
  headers and max age when its origin, method and headers are allowed, and without CORS headers when not;
  every other answer of the API to an allowed `Origin` carries `Access-Control-Allow-Origin` (and the
  configured expose/credentials headers).

One port for all of it: in AWS the management endpoint is the WebSocket API's own host, and the page,
API and WebSocket share an origin locally, so the page needs no CORS; a user's own web app on another
origin gets the API's CORS, as it would from API Gateway.

Uploads are NOT proxied: the page POSTs the photo straight to the presigned URL, i.e. to the moto
server, as a browser does to S3. moto's server answers every response with
`Access-Control-Allow-Origin: *` (flask-cors, unless MOTO_DISABLE_GLOBAL_CORS), so the cross-origin
multipart POST (a CORS "simple" request, no preflight) succeeds and its 204 is readable. moto does
not evaluate the bucket's own CORS rules, so their origins are checked by the Pulumi tests
(tests/infra/test_storage.py), not here; moto does not check the POST policy either, which is why
ingest re-checks size and type.
"""

from __future__ import annotations

import base64
import contextlib
import json
import mimetypes
import re
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from embedded.emulator import ACCOUNT_ID
from embedded.local_http import LocalHTTPServer
from embedded.mocks import ApiRecord, StackRecord
from infra.web import page_config

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
STATIC_FILES = {"/": "index.html", "/index.html": "index.html", "/app.js": "app.js", "/review.js": "review.js",
                "/style.css": "style.css"}
MAX_BODY = 10 * 1024 * 1024
WS_MAX_MESSAGE = 128 * 1024  # API Gateway's WebSocket message limit
CONNECTIONS_PATH = re.compile(r"^(?:/[^/@]+)?/@connections/([^/]+)$")

Invoke = Callable[[str, dict[str, Any]], Any]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _request_time() -> str:
    return datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def route_pattern(route_key: str) -> tuple[str, re.Pattern[str]] | None:
    """`GET /jobs/{id}` -> ("GET", regex with a named group per path parameter; `{proxy+}` greedy)."""
    method, _, path = route_key.partition(" ")
    if not path.startswith("/"):
        return None
    regex = ""
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{") and part.endswith("+}"):
            regex += f"(?P<{part[1:-2]}>.+)"
        elif part.startswith("{"):
            regex += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            regex += re.escape(part)
    return method, re.compile(f"^{regex}$")


def _jwt_claims(token: str) -> dict[str, Any] | None:
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None


class _Connection:
    def __init__(self, connection_id: str, ws, source_ip: str, user_agent: str):
        self.id = connection_id
        self.ws = ws
        self.source_ip = source_ip
        self.user_agent = user_agent
        self.connected_at = datetime.now(UTC)
        self.last_active_at = self.connected_at
        self.connected_ms = _now_ms()


class _Server(LocalHTTPServer):
    allow_reuse_address = True

    def __init__(self, gateway: LocalGateway):
        self.gateway = gateway
        super().__init__(_Handler)

    def finish_request(self, request, client_address) -> None:
        head = _peek_head(request)
        if head is not None and re.search(rb"(?im)^upgrade:\s*websocket\s*$", head):
            self.gateway.serve_websocket(request, client_address)
        else:
            super().finish_request(request, client_address)


def _peek_head(sock: socket.socket, timeout_s: float = 5.0) -> bytes | None:
    """The request head, without consuming it, so either HTTP or WebSocket code can read it after."""
    deadline = time.monotonic() + timeout_s
    sock.settimeout(timeout_s)
    try:
        while True:
            data = sock.recv(65536, socket.MSG_PEEK)
            if not data or b"\r\n\r\n" in data or len(data) >= 65536 or time.monotonic() > deadline:
                return data or None
            time.sleep(0.002)
    except OSError:
        return None
    finally:
        with contextlib.suppress(OSError):
            sock.settimeout(None)


class LocalGateway:
    """`with LocalGateway() as gw:` binds now (so the program can be told its URL), serves once attached."""

    def __init__(self, *, web_dir: Path = WEB_DIR, log: Callable[[str], None] | None = None):
        self.web_dir = web_dir
        self._log = log or (lambda line: None)
        self._server = _Server(self)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self.record: StackRecord | None = None
        self.invoke: Invoke | None = None
        self.connections: dict[str, _Connection] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.stats = {"http": 0, "ws_connect": 0, "ws_message": 0, "ws_disconnect": 0, "pushed": 0, "gone": 0}

    # -- lifecycle ---------------------------------------------------------------------------------

    def attach(self, record: StackRecord, invoke: Invoke) -> LocalGateway:
        self.record = record
        self.invoke = invoke
        return self

    def start(self) -> LocalGateway:
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-gateway", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        for connection in list(self.connections.values()):
            with contextlib.suppress(Exception):
                connection.ws.close()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> LocalGateway:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def http_api(self) -> ApiRecord | None:
        return self.record.api("HTTP") if self.record else None

    @property
    def websocket_api(self) -> ApiRecord | None:
        return self.record.api("WEBSOCKET") if self.record else None

    @property
    def page_url(self) -> str:
        return f"{self.url}/"

    def page_config(self) -> dict[str, Any]:
        outputs = self.record.outputs if self.record else {}
        api_url, websocket_url = outputs.get("api_url", self.url), outputs.get("websocket_url", "")
        return json.loads(page_config(api_url, websocket_url, outputs.get("max_upload_bytes")))

    def log(self, line: str) -> None:
        self._log(f"gateway: {line}")

    # -- HTTP API ----------------------------------------------------------------------------------

    def match_route(self, method: str, path: str) -> tuple[str, dict[str, str]] | None:
        api = self.http_api
        if api is None:
            return None
        candidates: list[tuple[tuple[int, bool], str, dict[str, str]]] = []
        for key in api.routes:
            if key == "$default":
                continue
            parsed = route_pattern(key)
            if parsed is None:
                continue
            route_method, pattern = parsed
            match = pattern.match(path)
            if match and route_method in (method, "ANY"):
                params = {k: unquote(v) for k, v in match.groupdict().items()}
                # literal segments beat parameters, then the route's own method beats ANY
                candidates.append(((len(params), route_method == "ANY"), key, params))
        if candidates:
            _, key, params = min(candidates, key=lambda c: c[0])
            return key, params
        if "$default" in api.routes:
            return "$default", {}
        return None

    def cors_headers(self, handler: _Handler) -> dict[str, str]:
        """What API Gateway adds to an answer of the API to a request from an allowed `Origin`."""
        cors = (self.http_api.cors if self.http_api else None) or {}
        origin = handler.headers.get("Origin")
        origins = list(cors.get("allowOrigins") or [])
        if not origin or not (origin in origins or "*" in origins):
            return {}
        headers = {"Access-Control-Allow-Origin": "*" if "*" in origins else origin}
        if headers["Access-Control-Allow-Origin"] != "*":
            headers["Vary"] = "Origin"
        if cors.get("allowCredentials"):
            headers["Access-Control-Allow-Credentials"] = "true"
        if cors.get("exposeHeaders"):
            headers["Access-Control-Expose-Headers"] = ",".join(cors["exposeHeaders"])
        return headers

    def answer_preflight(self, handler: _Handler) -> bool:
        """A CORS preflight, answered from the API's configuration (the function is never invoked)."""
        cors = self.http_api.cors if self.http_api else None
        requested_method = handler.headers.get("Access-Control-Request-Method")
        if not cors or handler.command != "OPTIONS" or not handler.headers.get("Origin") or not requested_method:
            return False
        methods = [m.upper() for m in cors.get("allowMethods") or []]
        allowed_headers = [h.lower() for h in cors.get("allowHeaders") or []]
        requested_headers = [
            h.strip().lower() for h in handler.headers.get("Access-Control-Request-Headers", "").split(",") if h.strip()
        ]
        headers = self.cors_headers(handler)
        allowed = (
            bool(headers)
            and ("*" in methods or requested_method.upper() in methods)
            and ("*" in allowed_headers or all(h in allowed_headers for h in requested_headers))
        )
        if not allowed:
            handler.send_bytes(204, b"", None, {})
            return True
        headers["Access-Control-Allow-Methods"] = ",".join(methods)
        if requested_headers:
            headers["Access-Control-Allow-Headers"] = ",".join(
                requested_headers if "*" in allowed_headers else allowed_headers
            )
        if cors.get("maxAge"):
            headers["Access-Control-Max-Age"] = str(int(cors["maxAge"]))
        handler.send_bytes(204, b"", None, headers)
        return True

    def http_event(
        self,
        route_key: str,
        handler: _Handler,
        path: str,
        query: str,
        params: dict[str, str],
        body: bytes,
        claims: dict[str, Any] | None,
    ) -> dict[str, Any]:
        api = self.http_api
        assert api is not None
        headers: dict[str, str] = {}
        for name, value in handler.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
        query_params: dict[str, str] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            query_params[name] = f"{query_params[name]},{value}" if name in query_params else value
        try:
            text, is_base64 = body.decode("utf-8"), False
        except UnicodeDecodeError:
            text, is_base64 = base64.b64encode(body).decode(), True
        host = headers.get("host", self.url.split("://", 1)[1])
        context: dict[str, Any] = {
            "accountId": ACCOUNT_ID,
            "apiId": api.id,
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {
                "method": handler.command,
                "path": path,
                "protocol": handler.request_version,
                "sourceIp": handler.client_address[0],
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": secrets.token_urlsafe(12),
            "routeKey": route_key,
            "stage": "$default",
            "time": _request_time(),
            "timeEpoch": _now_ms(),
        }
        if claims is not None:
            context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": path,
            "rawQueryString": query,
            "headers": headers,
            "requestContext": context,
            "isBase64Encoded": is_base64,
        }
        if cookies:
            event["cookies"] = cookies
        if query_params:
            event["queryStringParameters"] = query_params
        if params:
            event["pathParameters"] = params
        if body:
            event["body"] = text
        return event

    def authorize(self, route_key: str, handler: _Handler) -> tuple[bool, dict[str, Any] | None]:
        """JWT routes: a bearer token whose iss/aud/exp match the authorizer. (True, claims) when allowed."""
        api = self.http_api
        assert api is not None
        route = api.routes[route_key]
        if route.authorization_type != "JWT":
            return True, None
        authorizer = api.authorizers.get(route.authorizer_id or "")
        header = handler.headers.get("Authorization", "")
        claims = _jwt_claims(header[7:].strip()) if header[:7].lower() == "bearer " else None
        if authorizer is None or claims is None:
            return False, None
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        valid = (
            claims.get("iss") == authorizer.issuer
            and any(a in authorizer.audiences for a in audiences)
            and float(claims.get("exp", 0)) > time.time()
        )
        return valid, (claims if valid else None)

    def handle_api(self, handler: _Handler, path: str, query: str, body: bytes) -> bool:
        if self.answer_preflight(handler):
            return True
        found = self.match_route(handler.command, path)
        if found is None:
            return False
        route_key, params = found
        api = self.http_api
        assert api is not None and self.invoke is not None
        cors = self.cors_headers(handler)
        allowed, claims = self.authorize(route_key, handler)
        if not allowed:
            handler.reply(401, {"message": "Unauthorized"}, cors)
            return True
        function = api.function_of(route_key)
        if function is None:
            handler.reply(500, {"message": "Internal Server Error"}, cors)
            return True
        event = self.http_event(route_key, handler, path, query, params, body, claims)
        try:
            result = self.invoke(function, event)
        except Exception as exc:
            self.log(f"{route_key}: integration failed: {exc}")
            handler.reply(500, {"message": "Internal Server Error"}, cors)
            return True
        self.stats["http"] += 1
        handler.proxy_reply(result, cors, cors_configured=bool(api.cors))
        return True

    # -- WebSocket API -----------------------------------------------------------------------------

    def _ws_context(self, connection: _Connection, route_key: str, event_type: str, stage: str) -> dict[str, Any]:
        api = self.websocket_api
        assert api is not None
        return {
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": secrets.token_urlsafe(12),
            "requestTime": _request_time(),
            "messageDirection": "IN",
            "stage": stage,
            "connectedAt": connection.connected_ms,
            "requestTimeEpoch": _now_ms(),
            "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
            "requestId": secrets.token_urlsafe(12),
            "domainName": self.url.split("://", 1)[1],
            "connectionId": connection.id,
            "apiId": api.id,
        }

    def _ws_stage(self) -> str:
        api = self.websocket_api
        return next(iter(api.stages), "$default") if api else "$default"

    def _invoke_route(self, route_key: str, event: dict[str, Any]) -> int | None:
        """Invoke a route's integration; the status it answered (None if the route has no function)."""
        api = self.websocket_api
        assert api is not None and self.invoke is not None
        function = api.function_of(route_key)
        if function is None:
            return None
        try:
            result = self.invoke(function, event)
        except Exception as exc:
            self.log(f"{route_key}: integration failed: {exc}")
            return 500
        return int(result.get("statusCode", 200)) if isinstance(result, dict) else 200

    def select_route(self, body: str) -> str | None:
        """Evaluate the route selection expression (`$request.body.<path>`) on a message."""
        api = self.websocket_api
        assert api is not None
        expression = api.route_selection_expression or "$request.body.action"
        key = None
        if expression.startswith("$request.body."):
            try:
                value: Any = json.loads(body)
                for part in expression.removeprefix("$request.body.").split("."):
                    value = value.get(part) if isinstance(value, dict) else None
                key = value if isinstance(value, str) else None
            except ValueError:
                key = None
        if key in api.routes and not key.startswith("$"):
            return key
        return "$default" if "$default" in api.routes else None

    def serve_websocket(self, sock: socket.socket, address) -> None:
        from websockets.exceptions import ConnectionClosed
        from websockets.server import ServerProtocol
        from websockets.sync.server import ServerConnection

        api = self.websocket_api
        if api is None or self.invoke is None:
            sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        stage = self._ws_stage()
        ws = ServerConnection(sock, ServerProtocol(max_size=WS_MAX_MESSAGE), ping_interval=None)
        connection_id = base64.urlsafe_b64encode(uuid.uuid4().bytes[:9]).decode()  # API Gateway-like: 12 chars
        holder: dict[str, _Connection] = {}

        def on_connect(conn, request):
            connection = _Connection(connection_id, conn, address[0], request.headers.get("User-Agent", ""))
            holder["connection"] = connection
            split = urlsplit(request.path)
            event = {
                "headers": {k: v for k, v in request.headers.raw_items()},
                "multiValueHeaders": {k: [v] for k, v in request.headers.raw_items()},
                "requestContext": self._ws_context(connection, "$connect", "CONNECT", stage),
                "isBase64Encoded": False,
            }
            query = dict(parse_qsl(split.query))
            if query:
                event["queryStringParameters"] = query
            status = self._invoke_route("$connect", event)
            if status is not None and not 200 <= status < 300:
                return conn.respond(403 if status in (401, 403) else status, "Forbidden\n")
            with self._lock:
                self.connections[connection_id] = connection
            self.stats["ws_connect"] += 1
            return None

        try:
            ws.handshake(process_request=on_connect, timeout=10)
        except Exception as exc:
            self.log(f"websocket handshake failed: {exc}")
            return
        if connection_id not in self.connections:
            with contextlib.suppress(Exception):
                ws.close()
            return
        connection = holder["connection"]
        try:
            for message in ws:
                connection.last_active_at = datetime.now(UTC)
                if isinstance(message, bytes):
                    message = message.decode("utf-8", errors="replace")
                self.stats["ws_message"] += 1
                route_key = self.select_route(message)
                if route_key is None:
                    ws.send(
                        json.dumps(
                            {
                                "message": "Forbidden",
                                "connectionId": connection_id,
                                "requestId": secrets.token_urlsafe(12),
                            }
                        )
                    )
                    continue
                context = self._ws_context(connection, route_key, "MESSAGE", stage)
                context["messageId"] = secrets.token_urlsafe(12)
                self._invoke_route(route_key, {"requestContext": context, "body": message, "isBase64Encoded": False})
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self.connections.pop(connection_id, None)
            self.stats["ws_disconnect"] += 1
            event = {
                "requestContext": self._ws_context(connection, "$disconnect", "DISCONNECT", stage),
                "isBase64Encoded": False,
            }
            event["requestContext"]["disconnectStatusCode"] = 1000
            self._invoke_route("$disconnect", event)

    # -- @connections (apigatewaymanagementapi) ----------------------------------------------------

    def handle_connections(self, handler: _Handler, path: str, body: bytes) -> bool:
        match = CONNECTIONS_PATH.match(path.replace("%40", "@"))  # the id is unquoted after the split
        if match is None:
            return False
        connection = self.connections.get(unquote(match.group(1)))
        if connection is None:
            self.stats["gone"] += 1
            handler.reply(410, {"message": "Gone"}, {"x-amzn-ErrorType": "GoneException"})
            return True
        if handler.command == "POST":
            if len(body) > WS_MAX_MESSAGE:
                handler.reply(413, {"message": "Payload too large"}, {"x-amzn-ErrorType": "PayloadTooLargeException"})
                return True
            try:
                connection.ws.send(body.decode("utf-8") if _is_text(body) else body)
            except Exception:
                with self._lock:
                    self.connections.pop(connection.id, None)
                self.stats["gone"] += 1
                handler.reply(410, {"message": "Gone"}, {"x-amzn-ErrorType": "GoneException"})
                return True
            self.stats["pushed"] += 1
            handler.reply(200, None)
        elif handler.command == "DELETE":
            with contextlib.suppress(Exception):
                connection.ws.close()
            handler.reply(204, None)
        elif handler.command == "GET":
            handler.reply(
                200,
                {
                    "connectedAt": connection.connected_at.isoformat().replace("+00:00", "Z"),
                    "lastActiveAt": connection.last_active_at.isoformat().replace("+00:00", "Z"),
                    "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
                },
            )
        else:
            handler.reply(405, {"message": "Method Not Allowed"})
        return True

    # -- static page -------------------------------------------------------------------------------

    def handle_static(self, handler: _Handler, path: str) -> bool:
        if handler.command not in ("GET", "HEAD"):
            return False
        if path == "/config.json":
            handler.reply(200, self.page_config(), {"Cache-Control": "no-store"})
            return True
        filename = STATIC_FILES.get(path)
        if filename is None:
            return False
        content = (self.web_dir / filename).read_bytes()
        content_type = (mimetypes.guess_type(filename)[0] or "application/octet-stream") + "; charset=utf-8"
        handler.send_bytes(200, content, content_type, {"Cache-Control": "no-cache"})
        return True


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        pass

    def _dispatch(self) -> None:
        gateway = self.server.gateway
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.reply(413, {"message": "Request Entity Too Large"})
            return
        body = self.rfile.read(length) if length else b""
        try:
            if gateway.handle_connections(self, split.path, body):
                return
            if gateway.handle_api(self, split.path, split.query, body):
                return
            if gateway.handle_static(self, split.path):
                return
            self.reply(404, {"message": "Not Found"})
        except Exception as exc:  # the gateway itself must never hang a client
            gateway.log(f"{self.command} {split.path}: {type(exc).__name__}: {exc}")
            with contextlib.suppress(Exception):
                self.reply(500, {"message": "Internal Server Error"})

    def __getattr__(self, name: str):
        """Every method reaches the routes (`do_QUERY`, `do_TRACE` ...), as at API Gateway, where an `ANY`
        route matches them; http.server would answer 501 itself."""
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def send_bytes(self, status: int, content: bytes, content_type: str | None, headers: dict[str, str]) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)

    def reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        content = b"" if body is None else json.dumps(body).encode()
        self.send_bytes(status, content, "application/json" if body is not None else None, headers or {})

    def proxy_reply(
        self, result: Any, gateway_headers: dict[str, str] | None = None, *, cors_configured: bool = False
    ) -> None:
        """Payload 2.0: a `{statusCode, headers, body, isBase64Encoded, cookies}` object, or any other
        JSON value, which API Gateway returns as a 200 `application/json` body. With CORS configured on the
        API, the function's own CORS headers are dropped and the gateway's (`gateway_headers`) sent."""
        gateway_headers = gateway_headers or {}
        if not (isinstance(result, dict) and "statusCode" in result):
            self.send_bytes(200, json.dumps(result).encode(), "application/json", gateway_headers)
            return
        body = result.get("body") or ""
        content = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        content_type = headers.pop("Content-Type", None) or headers.pop("content-type", None)
        for cookie in result.get("cookies") or []:
            headers.setdefault("Set-Cookie", cookie)
        if cors_configured:
            headers = {k: v for k, v in headers.items() if not k.lower().startswith("access-control-")}
        self.send_bytes(int(result["statusCode"]), content, content_type, {**headers, **gateway_headers})
