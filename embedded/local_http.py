"""The one HTTP server class everything the embedded stack serves itself is built on: the local API Gateway, the
webhook subscriber and the fake provider servers."""

from __future__ import annotations

from http.server import ThreadingHTTPServer


class LocalHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server on 127.0.0.1, on a free port, that takes a burst of connections.

    `socketserver`'s listen backlog is 5. `bookimg identify` of many photos opens each photo's `POST /jobs` and
    WebSocket at once, and a backlog of 5 overflows: the kernel falls back to SYN cookies, and connections are
    dropped or reset. A photo's upload then fails before its job exists. The kernel caps the backlog at
    `net.core.somaxconn` in any case."""

    request_queue_size = 1024

    def __init__(self, handler: type):
        super().__init__(("127.0.0.1", 0), handler)
