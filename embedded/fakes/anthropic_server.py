"""Fake Claude: the Anthropic Messages API (`POST /v1/messages`) and the Bedrock runtime invoke path
(`POST /model/{modelId}/invoke`) that `AnthropicBedrock` calls.

It answers a real-shaped `message` whose content is one `tool_use` block for the forced tool, with
`usage` including the prompt-cache counters: the first request with a given cached prefix (tools +
system up to the last `cache_control` block) reports `cache_creation_input_tokens`, later ones
`cache_read_input_tokens`, as the real API does. Faults are scripted with `fail_next(...)` using
`rate_limited`, `overloaded`, `server_error`, `bad_request` (Anthropic shapes) or `bedrock_error`.

Image content blocks are checked as the API checks them (a base64 source, a supported media type, data
that decodes and is an image of that type, within the size limit) and refused with a 400 otherwise; an
accepted image costs width x height / 750 input tokens, the API's own estimate.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from embedded.fakes.base import FakeServer, Reply, Request

ToolResponder = Callable[[dict[str, Any]], dict[str, Any]]
_INVOKE = re.compile(r"^/model/(?P<model>[^/]+)/invoke$")


def _error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(
        status,
        {
            "type": "error",
            "error": {"type": kind, "message": message},
            "request_id": f"req_{uuid.uuid4().hex}",
        },
        headers={"request-id": f"req_{uuid.uuid4().hex}", **(headers or {})},
    )


def rate_limited(retry_after: float | None = 1) -> Reply:
    headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
    return _error(429, "rate_limit_error", "Number of request tokens has exceeded your rate limit.", headers)


def overloaded(retry_after: float | None = None) -> Reply:
    headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
    return _error(529, "overloaded_error", "Overloaded", headers)


def server_error() -> Reply:
    return _error(500, "api_error", "Internal server error")


def bad_request(message: str = "messages: at least one message is required") -> Reply:
    return _error(400, "invalid_request_error", message)


def slow(seconds: float) -> Reply:
    """A reply that arrives too late for a client with a shorter timeout."""
    return Reply(200, {}, delay=seconds)


def bedrock_error(status: int, code: str, message: str = "") -> Reply:
    """Bedrock runtime's error shape: `{"message": ...}` plus `x-amzn-ErrorType`."""
    return Reply(
        status,
        {"message": message or code},
        headers={"x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/"},
    )


def _tokens(value: Any) -> int:
    """A stable stand-in for a tokenizer: about four characters a token."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return max(1, len(text) // 4)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(block.get("text", "") for block in content if isinstance(block, dict))


IMAGE_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
MAX_IMAGE_SIDE = 8000
_MAGIC = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",),
          "image/gif": (b"GIF87a", b"GIF89a"), "image/webp": (b"RIFF",)}


class ImageBlockError(ValueError):
    """An image block the API would refuse; the message names the block as the API does."""


def decode_image_block(block: dict[str, Any], where: str) -> bytes:
    """The image bytes of one `image` content block, or `ImageBlockError` saying what the API would say."""
    source = block.get("source") or {}
    if source.get("type") != "base64":
        raise ImageBlockError(f"{where}.source.type: only 'base64' image sources are served here")
    media_type = source.get("media_type")
    if media_type not in IMAGE_MEDIA_TYPES:
        raise ImageBlockError(f"{where}.source.media_type: Input should be one of {', '.join(IMAGE_MEDIA_TYPES)}")
    try:
        data = base64.b64decode(source.get("data") or "", validate=True)
    except (binascii.Error, ValueError):
        raise ImageBlockError(f"{where}.source.data: invalid base64 data") from None
    if not data.startswith(_MAGIC[media_type]):
        raise ImageBlockError(
            f"{where}.source.data: The image was specified using the {media_type} media type, "
            "but does not appear to be a valid image of that type"
        )
    width, height = image_size(data)
    if max(width, height) > MAX_IMAGE_SIDE:
        raise ImageBlockError(f"{where}.source.data: image dimensions exceed max allowed size: {MAX_IMAGE_SIDE} pixels")
    return data


def image_size(data: bytes) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as picture:
            picture.load()
            return picture.size
    except (UnidentifiedImageError, OSError):
        raise ImageBlockError("image.source.data: Could not process image") from None


def images_in(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Each image block of a request: its decoded bytes, media type and the text block just before it
    (the label naming it), in order."""
    found = []
    for message in body.get("messages", []):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        label = None
        for block in content:
            if block.get("type") == "text":
                label = block.get("text")
            elif block.get("type") == "image":
                source = block["source"]
                found.append(
                    {"label": label, "media_type": source["media_type"], "data": base64.b64decode(source["data"])}
                )
    return found


def ocr_lines_in(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The OCR lines our builder put in the user message (`id<TAB>...<TAB>text` rows), if any."""
    rows = []
    for message in body.get("messages", []):
        for raw in _text_of(message.get("content", "")).splitlines():
            parts = raw.split("\t")
            if len(parts) >= 2 and parts[0].isdigit():  # `id<TAB>...<TAB>text`, with or without geometry
                rows.append({"id": int(parts[0]), "text": parts[-1]})
    return rows


def one_book_per_line(body: dict[str, Any]) -> dict[str, Any]:
    """Default 'model': every OCR line is a book whose title is the line's text."""
    return {
        "books": [
            {
                "title": row["text"],
                "author": None,
                "tag": None,
                "isbn": None,
                "evidence": [row["id"]],
                "confidence": 0.8,
            }
            for row in ocr_lines_in(body)
        ]
    }


class FakeClaude(FakeServer):
    def __init__(
        self, responder: ToolResponder | None = None, *, min_cache_tokens: int = 0, tool_overhead_tokens: int = 0
    ):
        """`min_cache_tokens`: the model's minimum cacheable prefix (Haiku 4.5: 4096); `tool_overhead_tokens`:
        the system prompt the API adds for tool use (313 with a forced `tool_choice` on Claude 4.x)."""
        super().__init__()
        self.responder = responder or one_book_per_line
        self.min_cache_tokens = min_cache_tokens
        self.tool_overhead_tokens = tool_overhead_tokens
        self.next_stop_reason: list[str] = []
        self._cached_prefixes: set[str] = set()
        self._cache_lock = threading.Lock()

    @property
    def bodies(self) -> list[dict[str, Any]]:
        """JSON bodies of the message requests received (Anthropic and Bedrock paths)."""
        return [r.json() for r in self.requests if r.method == "POST"]

    def truncate_next(self) -> None:
        """The next answer stops at max_tokens with an incomplete tool input, as a too-small budget would."""
        self.next_stop_reason.append("max_tokens")

    def handle(self, request: Request) -> Reply:
        if request.method == "POST" and request.path == "/v1/messages":
            if not request.headers.get("x-api-key") and not request.headers.get("authorization"):
                return _error(401, "authentication_error", "x-api-key header is required")
            if not request.headers.get("anthropic-version"):
                return bad_request("anthropic-version header is required")
            body = request.json()
            return self._message(body, body.get("model"))
        match = _INVOKE.match(request.path)
        if request.method == "POST" and match:
            if not request.headers.get("authorization"):
                return bedrock_error(403, "AccessDeniedException", "Missing Authentication Token")
            body = request.json()
            if "model" in body or "anthropic_version" not in body:
                return bedrock_error(
                    400, "ValidationException", "model belongs in the path; anthropic_version is required"
                )
            return self._message(body, unquote(match.group("model")))
        return _error(404, "not_found_error", f"{request.method} {request.path}")

    def _message(self, body: dict[str, Any], model: str | None) -> Reply:
        for required in ("max_tokens", "messages"):
            if required not in body:
                return bad_request(f"{required}: Field required")
        if not model:
            return bad_request("model: Field required")
        try:
            image_tokens = self._check_images(body)
        except ImageBlockError as exc:
            return bad_request(str(exc))
        tools = body.get("tools") or []
        forced = (body.get("tool_choice") or {}).get("name")
        tool = next((t for t in tools if t.get("name") == forced), tools[0] if tools else None)
        usage = self._usage(_without_image_data(body))
        usage["input_tokens"] += image_tokens
        stop_reason = self.next_stop_reason.pop(0) if self.next_stop_reason else "tool_use"
        if tool is None:
            content = [{"type": "text", "text": "I see some books."}]
            stop_reason = "end_turn"
        else:
            tool_input = self.responder(body) if stop_reason == "tool_use" else {"books": [{"title": "The Hob"}]}
            content = [
                {
                    "type": "tool_use",
                    "id": f"toolu_{uuid.uuid4().hex[:24]}",
                    "name": tool["name"],
                    "input": tool_input,
                }
            ]
        usage["output_tokens"] = _tokens(content)
        return Reply(
            200,
            {
                "id": f"msg_{uuid.uuid4().hex[:24]}",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": stop_reason,
                "stop_sequence": None,
                "usage": usage,
            },
            headers={"request-id": f"req_{uuid.uuid4().hex}"},
        )

    @staticmethod
    def _check_images(body: dict[str, Any]) -> int:
        """Every image block checked as the API would; their input tokens (width x height / 750 each)."""
        tokens = 0
        for m, message in enumerate(body.get("messages", [])):
            content = message.get("content")
            for b, block in enumerate(content if isinstance(content, list) else []):
                if isinstance(block, dict) and block.get("type") == "image":
                    width, height = image_size(decode_image_block(block, f"messages.{m}.content.{b}.image"))
                    tokens += max(1, width * height // 750)
        return tokens

    def _usage(self, body: dict[str, Any]) -> dict[str, int]:
        """Prompt-cache accounting: everything up to the last system block marked `cache_control`."""
        system = body.get("system") or []
        system = [{"type": "text", "text": system}] if isinstance(system, str) else system
        marked = [i for i, block in enumerate(system) if block.get("cache_control")]
        prefix_blocks = system[: marked[-1] + 1] if marked else []
        rest = system[len(prefix_blocks) :]
        prefix_tokens = _tokens({"tools": body.get("tools"), "system": prefix_blocks}) if marked else 0
        uncached = _tokens({"system": rest, "messages": body.get("messages")})
        if not marked:
            uncached += _tokens(body.get("tools") or [])
        if body.get("tools"):
            uncached += self.tool_overhead_tokens
        usage = {"input_tokens": uncached, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        if not marked or prefix_tokens < self.min_cache_tokens:
            usage["input_tokens"] += prefix_tokens
            return usage
        key = json.dumps(
            {"model": body.get("model"), "tools": body.get("tools"), "system": prefix_blocks}, sort_keys=True
        )
        with self._cache_lock:
            hit = key in self._cached_prefixes
            self._cached_prefixes.add(key)
        usage["cache_read_input_tokens" if hit else "cache_creation_input_tokens"] = prefix_tokens
        return usage


def _without_image_data(body: dict[str, Any]) -> dict[str, Any]:
    """The body with each image's base64 left out: images are counted by their pixels, not their encoding."""
    messages = []
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, list):
            content = [{"type": "image"} if isinstance(b, dict) and b.get("type") == "image" else b for b in content]
        messages.append({**message, "content": content})
    return {**body, "messages": messages}
