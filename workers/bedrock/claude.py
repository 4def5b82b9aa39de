"""Claude behind `CandidateBuilder`, through the `anthropic` SDK (Anthropic API or Amazon Bedrock).

Structured output by tool use: one tool, `record_books`, whose input schema is `BookList`'s JSON
schema, forced with `tool_choice`, and its input validated by pydantic. The fixed instructions (tool
+ system prompt per profile) form a cached prefix (`cache_control` on the last system block); only
the OCR lines change per photo.

Retries: the SDK's own retries are off (`max_retries=0` in `make_claude_client`) so our backoff is
the only layer and honours `retry-after`; a `retry-after` longer than `max_wait` is raised at once
(as `ThrottledError` with that hint) rather than slept through inside the Lambda. Output that does
not fit the schema is not retried (at temperature 0 the same prompt yields the same answer): it
raises `InvalidModelOutput`, a `PermanentError` the worker may answer by falling back to the
offline builder. An answer cut off at `max_tokens` is retried once with twice the budget, since a
crowded shelf can need more.

`anthropic` is imported only inside the functions that use it: it is a large import, and a cold start that
never asks Claude (the hybrid builder's catalog-resolved photos) should not pay for it.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from models import AnalysisProfile, Candidate, OcrLine, SpineRegion, TokenUsage
from workers.bedrock.builder import CandidateSet, PhotoReader
from workers.bedrock.offline import union_box
from workers.common.errors import (
    PermanentError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RetryableError,
    ThrottledError,
)
from workers.common.retry import RetryPolicy
from workers.common.settings import ProfileSettings

TOOL_NAME = "record_books"
MAX_TOKENS_CEILING = 16_384


class InvalidModelOutput(PermanentError):
    """Claude answered, but not with a `record_books` call that fits the schema."""



# --- the tool's schema -------------------------------------------------------------------------


class BookRecord(BaseModel):
    """One physical book Claude sees in the photo."""

    model_config = ConfigDict(extra="ignore")

    title: str | None = Field(default=None, description="Title as printed, corrected for obvious OCR errors")
    author: str | None = Field(default=None, description="Author(s) as printed, e.g. 'J. R. R. Tolkien'")
    tag: str | None = Field(default=None, description="Library call number on the spine label, e.g. '823 TOL'")
    isbn: str | None = Field(default=None, description="ISBN only if one is printed; never invent one")
    evidence: list[int] = Field(default_factory=list, description="Ids of every OCR line that belongs to this book")
    confidence: float = Field(default=0.5, ge=0.0, le=1.0, description="How sure you are this is one real book")

    @field_validator("confidence", mode="before")
    @classmethod
    def _clamp(cls, value: Any) -> Any:
        """A model saying 1.2 or 95 means 'very sure', not 'invalid answer'."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return min(1.0, max(0.0, value / 100.0 if value > 1.0 else float(value)))
        return value


class BookList(BaseModel):
    model_config = ConfigDict(extra="ignore")

    books: list[BookRecord] = Field(description="Every book seen, in left-to-right, top-to-bottom order")


BookListT = TypeVar("BookListT", bound=BaseModel)


def _inline_refs(schema: Any, defs: Mapping[str, Any]) -> Any:
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inline_refs(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inline_refs(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline_refs(v, defs) for v in schema]
    return schema


def tool_input_schema() -> dict[str, Any]:
    """`BookList`'s JSON schema with `$ref`s inlined (self-contained, as tool schemas are best sent)."""
    schema = BookList.model_json_schema()
    return _inline_refs(schema, schema.get("$defs", {}))


def record_books_tool() -> dict[str, Any]:
    return {
        "name": TOOL_NAME,
        "description": "Record every book identified on the shelf photo, with the OCR lines that support it.",
        "input_schema": tool_input_schema(),
    }


# --- prompts -----------------------------------------------------------------------------------

COMMON_INSTRUCTIONS = """\
You identify the physical books in a photograph from the text an OCR engine read in it.

You receive one row per OCR line: `id`, the line's box as `left top width height` (fractions
0..1 of the image width and height, origin at the top-left corner), the OCR confidence (0..1), and
the text. The message first says how many times as wide as tall the photo is: multiply `left` and
`width` by that number before comparing them with `top` and `height`. You never see the image itself.
Report your answer only by calling the `record_books` tool, once, with every book you can identify.

How to work:
1. Group lines into books by geometry first. Lines of one book are adjacent and aligned: on a spine
   they share a narrow column (similar `left` and `width`, or similar `top` and `height` when the
   spine is photographed lying down); on a cover they sit inside one rectangle. A gap or a change of
   alignment usually means a new book. Text on a spine may be rotated, so a tall narrow box is normal.
2. Within a book, decide which lines are the title, the author, the publisher, and the call number.
   - Call numbers (library shelf marks) sit on a label near the bottom of the spine: a class number
     and a short uppercase code, e.g. `796.332 TOM`, `821.111 SHA`, `N FOL`, `I-N GAR`, `J 82-3 ROW`.
     Put them in `tag` exactly as printed (fix only obvious OCR confusions like O/0 in digits).
   - Publisher names and series names (Penguin, Anagrama, Alfaguara, Vintage, Planeta, Debolsillo,
     Edicions 62, Tusquets...) are not titles and not authors.
   - Authors are usually personal names; they may be printed surname first, all caps, or initials.
   - Titles may span several lines; join them in reading order with single spaces.
   Fix obvious OCR errors (`TH E H0BBIT` -> `The Hobbit`), restore natural capitalisation, keep the
   language of the book (Spanish, Catalan, English, ...), and never translate.
3. `evidence` lists the ids of all lines you assigned to that book, including the call number and
   publisher lines. Never use an id that was not given; a line belongs to at most one book.
4. `confidence` is your probability that the book is real and its title is right: high (0.8-1.0)
   when a clear title is readable, middle (0.4-0.7) when the text is partial or ambiguous, low when
   you only have an author or a call number. Still report such partial books: a catalog lookup later
   matches them.
5. Leave out lines that are not book text (shelf labels, signs, stickers, barcodes, noise) by not
   citing them. Do not invent titles, authors or ISBNs that the text does not support; use null.
6. Report books in reading order: left to right along a shelf, then top to bottom across shelves.
"""

PROFILE_PROMPTS = {
    "spines": """\
This photo shows books standing on a shelf, spines facing the camera. Each spine is a tall narrow
strip: its lines share a narrow range of `left` values and are usually rotated 90 degrees, so one
spine reads as one or more tall, thin boxes stacked in a column. Neighbouring spines sit side by side,
so a change in `left` of more than about one spine's width starts a new book. Most spines carry title
and author, often a publisher logo at the top or bottom, and, in libraries, a call-number label at the
bottom. Very thin spines may carry only a title or only a call number: report them anyway.
""",
    "covers": """\
This photo shows book covers (front faces), laid flat or held up, one or a few books per photo. Each
cover is a large rectangle: the title is usually the largest text near the top or middle, the author
above or below it, and blurbs, prizes, series names and publisher logos are also present: they are
not titles. Group by rectangle, not by column. An ISBN may appear on a back cover near a barcode:
report it only when its digits are printed in full.
""",
    "auto": """\
The photo may show spines on a shelf, covers, or both. Decide per group of lines: a narrow column of
rotated lines is a spine (one book per column, call number at the bottom); a large rectangle with one
big title line is a cover. Mixed photos are common (a shelf with one book turned face-out). Apply
the spine rules to spines and the cover rules to covers.
""",
}


def system_blocks(prompt: str) -> list[dict[str, Any]]:
    """The fixed instructions, marked for prompt caching (tools + system form the cached prefix).

    `prompt` names a built-in profile prompt (`spines`, `covers`, `auto`) or is custom text.
    Caching needs a minimum prefix (1024-4096 tokens depending on the model); below it the request
    still succeeds and simply reports no cache tokens.
    """
    specific = PROFILE_PROMPTS.get(prompt, prompt)
    return [
        {"type": "text", "text": COMMON_INSTRUCTIONS},
        {"type": "text", "text": specific, "cache_control": {"type": "ephemeral"}},
    ]


def _clean(text: str) -> str:
    return " ".join(text.split())


def format_lines(lines: list[OcrLine]) -> str:
    """One compact tab-separated row per OCR line: `id left top width height conf text`."""
    header = "id\tleft\ttop\twidth\theight\tconf\ttext"
    rows = [
        f"{line.id}\t{line.box.left:.3f}\t{line.box.top:.3f}\t{line.box.width:.3f}\t{line.box.height:.3f}"
        f"\t{line.confidence:.2f}\t{_clean(line.text)}"
        for line in lines
    ]
    return "\n".join([header, *rows])


def user_message(lines: list[OcrLine], aspect: float = 1.0) -> dict[str, Any]:
    """The photo's lines, and its proportions: box fractions of a 4:3 photo's width and height are not the
    same length, and spine widths compare with heights only once that is known."""
    shape = f"The photo is {aspect:.2f} times as wide as it is tall."
    return {
        "role": "user",
        "content": f"{shape}\nOCR lines ({len(lines)}):\n{format_lines(lines)}\n\nCall {TOOL_NAME} with every book.",
    }


# --- answer parsing ----------------------------------------------------------------------------


def _none_if_blank(value: str | None) -> str | None:
    value = _clean(value) if value else None
    return value or None


def parse_tool_input(raw: Any, schema: type[BookListT] = BookList) -> BookListT:
    """The tool input as `schema` (`BookList`, or a variant such as the crops' list), or `InvalidModelOutput`."""
    try:
        return schema.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "<root>"
        raise InvalidModelOutput(
            f"Claude's {TOOL_NAME} input does not fit the schema at {where}: {first['msg']}"
        ) from exc


def candidates_from(books: BookList, lines: list[OcrLine]) -> tuple[list[Candidate], list[str]]:
    """Tool input -> `Candidate`s: unknown or reused line ids are dropped, text and box come from OCR."""
    by_id = {line.id: line for line in lines}
    used: set[int] = set()
    candidates = []
    for book in books.books:
        evidence = [i for i in dict.fromkeys(book.evidence) if i in by_id and i not in used]
        used.update(evidence)
        title, author, tag = _none_if_blank(book.title), _none_if_blank(book.author), _none_if_blank(book.tag)
        if not (evidence or title):
            continue
        ordered = sorted(evidence)
        candidates.append(
            Candidate(
                text=" ".join(_clean(by_id[i].text) for i in ordered) or (title or ""),
                title=title,
                author=author,
                tag=tag,
                isbn=_none_if_blank(book.isbn),
                evidence=ordered,
                box=union_box([by_id[i].box for i in ordered]),
                confidence=book.confidence,
            )
        )
    unassigned = [line.text for line in lines if line.id not in used]
    return candidates, unassigned


def usage_of(response: Any) -> TokenUsage:
    usage = getattr(response, "usage", None)
    return TokenUsage(
        input_tokens=int(getattr(usage, "input_tokens", 0) or 0),
        output_tokens=int(getattr(usage, "output_tokens", 0) or 0),
        cache_read_input_tokens=int(getattr(usage, "cache_read_input_tokens", 0) or 0),
        cache_creation_input_tokens=int(getattr(usage, "cache_creation_input_tokens", 0) or 0),
    )


def tool_input_of(response: Any) -> Any:
    for block in getattr(response, "content", None) or []:
        if getattr(block, "type", None) == "tool_use" and getattr(block, "name", None) == TOOL_NAME:
            return block.input
    raise InvalidModelOutput(f"Claude answered without calling {TOOL_NAME} (stop_reason={response.stop_reason})")


# --- errors ------------------------------------------------------------------------------------


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """`retry-after-ms`, or `retry-after` as seconds or an HTTP date; None when absent or unreadable."""
    if not headers:
        return None
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def map_anthropic_error(exc: Exception, *, provider: str = "claude") -> Exception:
    """An `anthropic` SDK exception -> our typed error, by exception class and status code."""
    import anthropic

    if isinstance(exc, anthropic.APITimeoutError):
        return ProviderTimeoutError("Claude timed out", provider=provider)
    if isinstance(exc, anthropic.APIConnectionError):
        return ProviderUnavailableError(f"Claude unreachable: {exc.message}", provider=provider)
    if not isinstance(exc, anthropic.APIStatusError):  # e.g. a 2xx body the SDK could not parse
        return ProviderUnavailableError(f"Claude answered unexpectedly: {type(exc).__name__}", provider=provider)
    status = exc.status_code
    retry_after = retry_after_seconds(exc.response.headers)
    detail = f"{status} {exc.type or ''}".strip()
    if status in (429, 529):
        return ThrottledError(f"Claude throttled: {detail}", retry_after=retry_after, provider=provider)
    if status == 408:
        return ProviderTimeoutError(f"Claude timed out: {detail}", retry_after=retry_after, provider=provider)
    if status >= 500 or status == 409:
        return ProviderUnavailableError(f"Claude unavailable: {detail}", retry_after=retry_after, provider=provider)
    if status in (401, 403, 404):  # credentials, permissions, model id: the deployment is wrong, not the photo
        return ProviderUnavailableError(f"Claude refused the deployment's request: {detail}", provider=provider)
    return PermanentError(f"Claude rejected the request: {detail}: {exc.api_message or exc.message}")


# --- client factory and builder ----------------------------------------------------------------


def make_claude_client(
    kind: Literal["anthropic", "bedrock"],
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    aws_region: str | None = None,
    aws_access_key: str | None = None,
    aws_secret_key: str | None = None,
    aws_session_token: str | None = None,
    max_retries: int = 0,
    timeout: float = 60.0,
):
    """An `anthropic.Anthropic` or `anthropic.AnthropicBedrock` client; SDK retries off by default.

    Bedrock signs with SigV4 from the given keys or, when none are given, boto3's default chain
    (the Lambda role); `api_key` on Bedrock is a Bedrock API key (bearer token).
    """
    import anthropic

    if kind == "anthropic":
        return anthropic.Anthropic(base_url=base_url, api_key=api_key, max_retries=max_retries, timeout=timeout)
    if kind == "bedrock":
        keys = {
            "aws_access_key": aws_access_key,
            "aws_secret_key": aws_secret_key,
            "aws_session_token": aws_session_token,
            "api_key": api_key,
        }
        return anthropic.AnthropicBedrock(
            aws_region=aws_region,
            base_url=base_url,
            max_retries=max_retries,
            timeout=timeout,
            **{k: v for k, v in keys.items() if v is not None},
        )
    raise ValueError(f"unknown Claude client kind {kind!r}")


class ClaudeCandidateBuilder:
    """`CandidateBuilder` asking Claude, one request per photo, profile-selected model and prompt."""

    name = "claude"

    def __init__(
        self,
        client: Any,
        profiles: Mapping[str, ProfileSettings],
        *,
        provider: str | None = None,
        attempts: int = 3,
        backoff_base: float = 1.0,
        backoff_cap: float = 20.0,
        max_wait: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[RetryableError, float], None] | None = None,
    ):
        if not profiles:
            raise ValueError("ClaudeCandidateBuilder needs at least one profile")
        self.client = client
        self.profiles = dict(profiles)
        self.provider = provider or ("claude-bedrock" if "Bedrock" in type(client).__name__ else "claude")
        self.retry = RetryPolicy(attempts, backoff_base, backoff_cap, max_wait, sleep, on_retry)

    def profile_settings(self, profile: AnalysisProfile) -> ProfileSettings:
        """The profile's settings; `auto` stands in for a profile that is not configured."""
        found = self.profiles.get(profile.value) or self.profiles.get(AnalysisProfile.AUTO.value)
        return found or next(iter(self.profiles.values()))

    def request(
        self, lines: list[OcrLine], settings: ProfileSettings, *, max_tokens: int, aspect: float = 1.0
    ) -> dict[str, Any]:
        """The `messages.create` arguments for one photo (pure: easy to inspect and test)."""
        arguments: dict[str, Any] = {
            "model": settings.model,
            "max_tokens": max_tokens,
            "system": system_blocks(settings.prompt),
            "tools": [record_books_tool()],
            "tool_choice": {"type": "tool", "name": TOOL_NAME},
            "messages": [user_message(lines, aspect)],
        }
        # The 1.x+ SDK dropped sampling parameters from `create()`'s signature; the API still takes
        # them on models that support them, so they travel in the body. None leaves the model default.
        if settings.temperature is not None:
            arguments["extra_body"] = {"temperature": settings.temperature}
        return arguments

    def build(
        self,
        lines: list[OcrLine],
        *,
        profile: AnalysisProfile,
        aspect: float = 1.0,
        spines: Sequence[SpineRegion] = (),
        photo: PhotoReader | None = None,
    ) -> CandidateSet:
        """Claude groups the lines itself from their geometry; the spine regions and the photo are not sent
        (the hybrid builder, which groups offline first, is where they serve)."""
        settings = self.profile_settings(profile)
        if not lines:
            return CandidateSet(candidates=[], provider=self.provider, model=settings.model)
        usage = TokenUsage()
        max_tokens = settings.max_tokens
        while True:
            response = self._create(self.request(lines, settings, max_tokens=max_tokens, aspect=aspect))
            usage = usage + usage_of(response)
            truncated = response.stop_reason == "max_tokens"
            if truncated and max_tokens < MAX_TOKENS_CEILING:
                max_tokens = min(MAX_TOKENS_CEILING, max_tokens * 2)
                continue
            if truncated:
                raise InvalidModelOutput(f"Claude's answer did not fit in {max_tokens} output tokens")
            break
        candidates, unassigned = candidates_from(parse_tool_input(tool_input_of(response)), lines)
        return CandidateSet(
            candidates=candidates,
            unassigned_lines=unassigned,
            usage=usage,
            provider=self.provider,
            model=getattr(response, "model", None) or settings.model,
        )

    def ask(
        self, instructions: str, tool: dict[str, Any], message: dict[str, Any], *, items: int,
        profile: AnalysisProfile,
    ) -> tuple[Any, CandidateSet]:
        """One forced-tool request about `items` things (the hybrid builder's residue groups or spine crops)
        through this builder's client and retries, with the profile's model: the tool input (None for an
        answer cut off at max_tokens, which leaves every item as it was) and an empty set with its usage."""
        settings = self.profile_settings(profile)
        arguments: dict[str, Any] = {
            "model": settings.model,
            "max_tokens": max(256, min(settings.max_tokens, 80 * items + 128)),
            "system": [{"type": "text", "text": instructions}],
            "tools": [tool],
            "tool_choice": {"type": "tool", "name": tool["name"]},
            "messages": [message],
        }
        if settings.temperature is not None:
            arguments["extra_body"] = {"temperature": settings.temperature}
        response = self._create(arguments)
        answer = CandidateSet(
            candidates=[],
            usage=usage_of(response),
            provider=self.provider,
            model=getattr(response, "model", None) or settings.model,
        )
        if response.stop_reason == "max_tokens":
            return None, answer
        return tool_input_of(response), answer

    def _create(self, arguments: dict[str, Any]) -> Any:
        return self.retry.run(lambda: self._create_once(arguments))

    def _create_once(self, arguments: dict[str, Any]) -> Any:
        import anthropic

        try:
            return self.client.messages.create(**arguments)
        except anthropic.AnthropicError as exc:
            raise map_anthropic_error(exc, provider=self.provider) from exc
