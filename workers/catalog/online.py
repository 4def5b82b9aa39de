"""Open Library and Google Books behind the `Catalog` protocol.

Both speak plain HTTPS + JSON through one `httpx.Client`, retry throttling and 5xx with a small
in-invocation budget (`call_with_backoff`, honouring `Retry-After`; a wait longer than `max_wait`
is not slept through but raised at once, so the queue redelivers later), and remember every answer
(empty ones included) in a `LookupCache`, so a repeated query costs no second HTTP call.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from workers.catalog.base import CatalogBook, CatalogQuery
from workers.catalog.statistics import WithoutStatistics
from workers.common.cache import LookupCache
from workers.common.errors import (
    PermanentError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RetryableError,
    ThrottledError,
)
from workers.common.retry import RetryPolicy

USER_AGENT = "BookImg/0.1 (bookshelf cataloguing; https://github.com/bookimg)"
OPENLIBRARY_COVER = "https://covers.openlibrary.org/b/id/{cover_i}-M.jpg"
GOOGLE_MAX_RESULTS = 40
# Google reports quota exhaustion as 403 with these `error.errors[].reason` values.
GOOGLE_QUOTA_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "dailyLimitExceeded", "quotaExceeded"})
_UNSAFE = re.compile(r"[^\w\s'.&-]+", re.UNICODE)



# --- query building ----------------------------------------------------------------------------


def normalise_isbn(value: str | None) -> str | None:
    """Digits (and a final X) of a 10- or 13-digit ISBN; None for anything else."""
    if not value:
        return None
    digits = re.sub(r"[^0-9Xx]", "", value).upper()
    if len(digits) == 13 and digits.isdigit():
        return digits
    if len(digits) == 10 and digits[:9].isdigit() and (digits[9].isdigit() or digits[9] == "X"):
        return digits
    return None


def clean_terms(text: str | None) -> str:
    """Free text safe to put in a search query: no quotes, colons, brackets or other query syntax."""
    return " ".join(_UNSAFE.sub(" ", text or "").split())


def openlibrary_params(query: CatalogQuery, limit: int) -> dict[str, str]:
    params = {"fields": "key,title,author_name,isbn,cover_i", "limit": str(limit)}
    if isbn := normalise_isbn(query.isbn):
        return {"q": f"isbn:{isbn}", **params}
    title, author = clean_terms(query.title), clean_terms(query.author)
    if title:
        return {"title": title, **({"author": author} if author else {}), **params}
    return {"q": clean_terms(" ".join(filter(None, [query.text, query.author]))), **params}


def google_query(query: CatalogQuery) -> str:
    if isbn := normalise_isbn(query.isbn):
        return f"isbn:{isbn}"
    title, author = clean_terms(query.title), clean_terms(query.author)
    if title:
        return f'intitle:"{title}"' + (f' inauthor:"{author}"' if author else "")
    return clean_terms(" ".join(filter(None, [query.text, query.author])))


def _norm(value: str | None) -> str:
    return " ".join((value or "").lower().split())


def cache_key(catalog: str, query: CatalogQuery, limit: int) -> tuple:
    """Queries that differ only in case or spacing share an entry."""
    return (catalog, _norm(query.text), _norm(query.title), _norm(query.author), normalise_isbn(query.isbn), limit)


# --- response parsing --------------------------------------------------------------------------


def _pick_isbn(isbns: list[str], wanted: str | None) -> str:
    clean = [i for i in (normalise_isbn(x) for x in isbns or []) if i]
    if wanted and wanted in clean:
        return wanted
    return next((i for i in clean if len(i) == 13), clean[0] if clean else "")


def books_from_openlibrary(payload: Mapping[str, Any], wanted_isbn: str | None = None) -> list[CatalogBook]:
    books = []
    for doc in payload.get("docs") or []:
        if not doc.get("title") or not doc.get("key"):
            continue
        cover = doc.get("cover_i")
        books.append(
            CatalogBook(
                book_id=str(doc["key"]),
                title=str(doc["title"]),
                author=", ".join(doc.get("author_name") or []),
                isbn=_pick_isbn(doc.get("isbn") or [], wanted_isbn),
                cover_url=OPENLIBRARY_COVER.format(cover_i=cover) if isinstance(cover, int) and cover > 0 else None,
                source="openlibrary",
            )
        )
    return books


def books_from_google(payload: Mapping[str, Any], wanted_isbn: str | None = None) -> list[CatalogBook]:
    books = []
    for item in payload.get("items") or []:
        info = item.get("volumeInfo") or {}
        if not info.get("title") or not item.get("id"):
            continue
        title = info["title"] + (f": {info['subtitle']}" if info.get("subtitle") else "")
        ids = {i.get("type"): i.get("identifier", "") for i in info.get("industryIdentifiers") or []}
        isbns = [ids[k] for k in ("ISBN_13", "ISBN_10") if ids.get(k)]
        thumb = (info.get("imageLinks") or {}).get("thumbnail")
        books.append(
            CatalogBook(
                book_id=f"gb:{item['id']}",
                title=title,
                author=", ".join(info.get("authors") or []),
                isbn=_pick_isbn(isbns, wanted_isbn),
                cover_url=thumb.replace("http://", "https://", 1) if thumb else None,
                source="googlebooks",
            )
        )
    return books


# --- HTTP and error mapping --------------------------------------------------------------------


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """`Retry-After` as seconds or an HTTP date; None when absent or unreadable."""
    value = (headers or {}).get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _google_quota_exceeded(response: httpx.Response) -> bool:
    try:
        errors = (response.json().get("error") or {}).get("errors") or []
    except ValueError:
        return False
    return any(e.get("reason") in GOOGLE_QUOTA_REASONS for e in errors if isinstance(e, dict))


def error_for_response(response: httpx.Response, provider: str) -> Exception | None:
    """None for a 2xx; else our typed error, by status code (and Google's structured quota reason)."""
    status = response.status_code
    if status < 300:
        return None
    retry_after = retry_after_seconds(response.headers)
    if status == 429 or (status == 403 and _google_quota_exceeded(response)):
        return ThrottledError(f"{provider} throttled ({status})", retry_after=retry_after, provider=provider)
    if status >= 500 or status == 408:
        return ProviderUnavailableError(
            f"{provider} unavailable ({status})", retry_after=retry_after, provider=provider
        )
    return PermanentError(f"{provider} rejected the lookup ({status})")


class _OnlineCatalog(WithoutStatistics):
    name = "online"
    path = "/"

    def __init__(
        self,
        base_url: str,
        http: httpx.Client | None,
        cache: LookupCache | None,
        *,
        timeout: float = 10.0,
        attempts: int = 3,
        backoff_base: float = 0.5,
        backoff_cap: float = 4.0,
        max_wait: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[RetryableError, float], None] | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self._owns_http = http is None
        self.http = http or httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)))
        self.cache = cache if cache is not None else LookupCache(maxsize=2048, ttl=24 * 3600)
        self.retry = RetryPolicy(attempts, backoff_base, backoff_cap, max_wait, sleep, on_retry)
        self.http_calls = 0

    @property
    def calls(self) -> int:
        return self.http_calls

    def close(self) -> None:
        """Close the HTTP client if this catalog created it (an injected one belongs to the caller)."""
        if self._owns_http:
            self.http.close()

    def search(self, query: CatalogQuery, *, limit: int = 10) -> list[CatalogBook]:
        """Books that may match, best first; answers (empty ones too) come from the cache when seen before."""
        return self.cache.get_or_load(cache_key(self.name, query, limit), lambda: self._search(query, limit))

    def _search(self, query: CatalogQuery, limit: int) -> list[CatalogBook]:
        raise NotImplementedError

    def _get_json(self, params: Mapping[str, str]) -> dict[str, Any]:
        return self.retry.run(lambda: self._get_once(params))

    def _get_once(self, params: Mapping[str, str]) -> dict[str, Any]:
        self.http_calls += 1
        try:
            response = self.http.get(
                f"{self.base_url}{self.path}", params=dict(params), headers={"User-Agent": USER_AGENT}
            )
        except httpx.TimeoutException as exc:
            raise ProviderTimeoutError(f"{self.name} timed out ({type(exc).__name__})", provider=self.name) from exc
        except httpx.TransportError as exc:
            raise ProviderUnavailableError(
                f"{self.name} unreachable ({type(exc).__name__})", provider=self.name
            ) from exc
        if error := error_for_response(response, self.name):
            raise error
        try:
            payload = response.json()
        except ValueError as exc:
            raise ProviderUnavailableError(f"{self.name} answered with invalid JSON", provider=self.name) from exc
        if not isinstance(payload, dict):
            raise ProviderUnavailableError(f"{self.name} answered with unexpected JSON", provider=self.name)
        return payload


class OpenLibraryCatalog(_OnlineCatalog):
    """`GET {base_url}/search.json` (https://openlibrary.org/dev/docs/api/search)."""

    name = "openlibrary"
    path = "/search.json"

    def __init__(
        self,
        base_url: str = "https://openlibrary.org",
        http: httpx.Client | None = None,
        cache: LookupCache | None = None,
        **options: Any,
    ):
        super().__init__(base_url, http, cache, **options)

    def _search(self, query: CatalogQuery, limit: int) -> list[CatalogBook]:
        params = openlibrary_params(query, limit)
        if not (params.get("q") or params.get("title")):
            return []
        return books_from_openlibrary(self._get_json(params), normalise_isbn(query.isbn))[:limit]


class GoogleBooksCatalog(_OnlineCatalog):
    """`GET {base_url}/volumes?q=...` (https://developers.google.com/books/docs/v1/using)."""

    name = "googlebooks"
    path = "/volumes"

    def __init__(
        self,
        base_url: str = "https://www.googleapis.com/books/v1",
        api_key: str | None = None,
        http: httpx.Client | None = None,
        cache: LookupCache | None = None,
        **options: Any,
    ):
        super().__init__(base_url, http, cache, **options)
        self._api_key = api_key

    def __repr__(self) -> str:  # never show the key
        return f"GoogleBooksCatalog(base_url={self.base_url!r}, api_key={'***' if self._api_key else None})"

    def _search(self, query: CatalogQuery, limit: int) -> list[CatalogBook]:
        q = google_query(query)
        if not q:
            return []
        params = {"q": q, "maxResults": str(max(1, min(limit, GOOGLE_MAX_RESULTS))), "printType": "books"}
        if self._api_key:
            params["key"] = self._api_key
        return books_from_google(self._get_json(params), normalise_isbn(query.isbn))[:limit]
