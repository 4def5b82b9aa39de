"""Fake Open Library search (`GET /search.json`) and Google Books (`GET /volumes`), real JSON shapes.

Both search a small in-memory list of `FakeBook`s (token overlap on title/author, `isbn:` exact) and
can be scripted to fail: `fail_next(too_many_requests(retry_after=2), unavailable())`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from embedded.fakes.base import FakeServer, Reply, Request


@dataclass(frozen=True)
class FakeBook:
    work_id: str
    title: str
    authors: tuple[str, ...] = ()
    isbns: tuple[str, ...] = ()
    cover_id: int | None = None
    subtitle: str | None = None
    extra: dict = field(default_factory=dict, hash=False, compare=False)


DEFAULT_BOOKS = [
    FakeBook("OL27482W", "The Hobbit", ("J.R.R. Tolkien",), ("9780547928227", "054792822X"), 14627060),
    FakeBook("OL27479W", "The Lord of the Rings", ("J.R.R. Tolkien",), ("9780544003415",), 14627509),
    FakeBook("OL1168083W", "Cien años de soledad", ("Gabriel García Márquez",), ("9788497592208",), 8231856),
    FakeBook("OL15413843W", "La plaça del Diamant", ("Mercè Rodoreda",), ("9788475883634",), None),
    FakeBook("OL45804W", "Fantastic Mr Fox", ("Roald Dahl",), ("9780142410349",), 6498519, "A Tale"),
]


def too_many_requests(retry_after: float | str | None = 1) -> Reply:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return Reply(429, {"error": "Too Many Requests"}, headers=headers)


def unavailable(retry_after: float | None = None) -> Reply:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return Reply(503, "<html><body>Service Unavailable</body></html>", headers=headers, content_type="text/html")


def google_quota_exceeded(reason: str = "rateLimitExceeded") -> Reply:
    return Reply(
        403,
        {"error": {"code": 403, "message": "Quota exceeded", "errors": [{"reason": reason, "domain": "usageLimits"}]}},
    )


_WORD = re.compile(r"\w+", re.UNICODE)
_FIELD = re.compile(r'(intitle|inauthor|isbn|title|author):("([^"]*)"|\S+)')


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text or "")}


class _Searchable(FakeServer):
    def __init__(self, books: list[FakeBook] | None = None):
        super().__init__()
        self.books = list(DEFAULT_BOOKS if books is None else books)

    def find(self, *, text: str = "", title: str = "", author: str = "", isbn: str = "") -> list[FakeBook]:
        if isbn:
            return [b for b in self.books if isbn in b.isbns]
        scored = []
        for book in self.books:
            t, a = _words(book.title + " " + (book.subtitle or "")), _words(" ".join(book.authors))
            if title and not _words(title) <= t:
                continue
            if author and not _words(author) & a:
                continue
            overlap = len(_words(text) & (t | a)) if text else 1
            if overlap:
                scored.append((overlap, book))
        return [b for _, b in sorted(scored, key=lambda pair: -pair[0])]

    @staticmethod
    def parse_q(q: str) -> dict[str, str]:
        """`isbn:X`, `intitle:"..."`, `title:...` etc. pulled out; the rest is free text."""
        found = {"text": _FIELD.sub(" ", q).strip()}
        for name, raw, quoted in _FIELD.findall(q):
            key = {"intitle": "title", "inauthor": "author"}.get(name, name)
            found[key] = quoted if quoted else raw
        return found


class FakeOpenLibrary(_Searchable):
    def handle(self, request: Request) -> Reply:
        if request.method != "GET" or request.path != "/search.json":
            return Reply(404, {"error": "notfound"})
        limit = int(request.arg("limit", "100"))
        parsed = self.parse_q(request.arg("q", "") or "")
        books = self.find(
            text=parsed.get("text", ""),
            title=request.arg("title") or parsed.get("title", ""),
            author=request.arg("author") or parsed.get("author", ""),
            isbn=parsed.get("isbn", ""),
        )
        fields = (request.arg("fields") or "key,title,author_name,isbn,cover_i").split(",")
        docs = []
        for book in books[:limit]:
            doc = {
                "key": f"/works/{book.work_id}",
                "title": book.title,
                "author_name": list(book.authors),
                "isbn": list(book.isbns),
                "cover_i": book.cover_id,
            }
            docs.append({k: v for k, v in doc.items() if k in fields and v not in (None, [])})
        return Reply(
            200,
            {
                "numFound": len(books),
                "start": 0,
                "numFoundExact": True,
                "num_found": len(books),
                "q": request.arg("q", ""),
                "offset": None,
                "docs": docs,
            },
        )


class FakeGoogleBooks(_Searchable):
    def handle(self, request: Request) -> Reply:
        if request.method != "GET" or request.path != "/volumes":
            return Reply(404, {"error": {"code": 404, "message": "Not Found", "errors": [{"reason": "notFound"}]}})
        q = request.arg("q")
        if not q:
            return Reply(
                400, {"error": {"code": 400, "message": "Missing query.", "errors": [{"reason": "queryRequired"}]}}
            )
        max_results = int(request.arg("maxResults", "10"))
        if not 0 <= max_results <= 40:
            return Reply(400, {"error": {"code": 400, "message": "Invalid value", "errors": [{"reason": "invalid"}]}})
        parsed = self.parse_q(q)
        books = self.find(
            text=parsed.get("text", ""),
            title=parsed.get("title", ""),
            author=parsed.get("author", ""),
            isbn=parsed.get("isbn", ""),
        )
        items = []
        for book in books[:max_results]:
            info: dict = {"title": book.title, "authors": list(book.authors), "printType": "BOOK"}
            if book.subtitle:
                info["subtitle"] = book.subtitle
            info["industryIdentifiers"] = [
                {"type": "ISBN_13" if len(i) == 13 else "ISBN_10", "identifier": i} for i in book.isbns
            ]
            if book.cover_id:
                info["imageLinks"] = {
                    "smallThumbnail": f"http://books.google.com/books/content?id={book.work_id}&zoom=5",
                    "thumbnail": f"http://books.google.com/books/content?id={book.work_id}&zoom=1",
                }
            items.append(
                {
                    "kind": "books#volume",
                    "id": book.work_id,
                    "etag": "x",
                    "selfLink": f"https://www.googleapis.com/books/v1/volumes/{book.work_id}",
                    "volumeInfo": info,
                }
            )
        body: dict = {"kind": "books#volumes", "totalItems": len(books)}
        if items:
            body["items"] = items
        return Reply(200, body)
