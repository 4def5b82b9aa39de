"""Open Library and Google Books catalogs against fake servers with the real JSON shapes, over HTTP."""

from __future__ import annotations

import httpx
import pytest

from embedded.fakes.base import Reply
from embedded.fakes.catalog_servers import google_quota_exceeded, too_many_requests, unavailable
from workers.catalog.base import CatalogQuery
from workers.catalog.online import (
    GoogleBooksCatalog,
    OpenLibraryCatalog,
    clean_terms,
    google_query,
    normalise_isbn,
    openlibrary_params,
)
from workers.common.cache import LookupCache
from workers.common.errors import PermanentError, ProviderTimeoutError, ProviderUnavailableError, ThrottledError

HOBBIT = CatalogQuery(text="THE HOBBIT TOLKIEN", title="The Hobbit", author="Tolkien")


def open_library(fake, **options) -> OpenLibraryCatalog:
    # tests count the requests the fake received: a reply late on a busy machine must not time out into one more
    options.setdefault("timeout", 30.0)
    slept: list[float] = []
    catalog = OpenLibraryCatalog(fake.url, sleep=slept.append, **options)
    catalog.slept = slept  # type: ignore[attr-defined]
    return catalog


def google(fake, **options) -> GoogleBooksCatalog:
    options.setdefault("timeout", 30.0)
    slept: list[float] = []
    catalog = GoogleBooksCatalog(fake.url, sleep=slept.append, **options)
    catalog.slept = slept  # type: ignore[attr-defined]
    return catalog


# --- query building (pure) ---------------------------------------------------------------------


def test_an_isbn_query_wins_over_title_and_author():
    query = CatalogQuery(text="x", title="The Hobbit", isbn="978-0-547-92822-7")
    assert openlibrary_params(query, 5)["q"] == "isbn:9780547928227"
    assert google_query(query) == "isbn:9780547928227"


def test_a_malformed_isbn_is_ignored():
    assert normalise_isbn("12345") is None
    assert normalise_isbn("0-306-40615-X") == "030640615X"
    assert openlibrary_params(CatalogQuery(text="dune", isbn="n/a"), 5)["q"] == "dune"


def test_title_and_author_become_field_queries():
    assert google_query(HOBBIT) == 'intitle:"The Hobbit" inauthor:"Tolkien"'
    params = openlibrary_params(HOBBIT, 5)
    assert (params["title"], params["author"], params["limit"]) == ("The Hobbit", "Tolkien", "5")
    assert "isbn" in params["fields"] and "cover_i" in params["fields"]


def test_ocr_text_cannot_inject_query_syntax():
    assert clean_terms('isbn:123 "AND" (title:x)') == "isbn 123 AND title x"
    assert google_query(CatalogQuery(text='THE "HOBBIT": intitle:x')) == "THE HOBBIT intitle x"


# --- Open Library ------------------------------------------------------------------------------


def test_open_library_docs_become_catalog_books(fake_openlibrary):
    # When
    [book] = open_library(fake_openlibrary).search(HOBBIT, limit=5)
    # Then
    assert book.book_id == "/works/OL27482W"
    assert (book.title, book.author, book.isbn) == ("The Hobbit", "J.R.R. Tolkien", "9780547928227")
    assert book.cover_url == "https://covers.openlibrary.org/b/id/14627060-M.jpg"
    assert book.source == "openlibrary"
    request = fake_openlibrary.requests[0]
    assert request.path == "/search.json" and request.arg("limit") == "5"
    assert request.headers["user-agent"].startswith("BookImg/")


def test_open_library_finds_a_book_by_isbn_and_keeps_the_isbn_asked_for(fake_openlibrary):
    [book] = open_library(fake_openlibrary).search(CatalogQuery(text="", isbn="054792822X"))
    assert book.title == "The Hobbit" and book.isbn == "054792822X"
    assert fake_openlibrary.requests[0].arg("q") == "isbn:054792822X"


def test_a_book_without_a_cover_has_no_cover_url(fake_openlibrary):
    [book] = open_library(fake_openlibrary).search(CatalogQuery(text="plaça diamant rodoreda"))
    assert book.title == "La plaça del Diamant" and book.cover_url is None


def test_nothing_found_is_an_empty_list(fake_openlibrary):
    assert open_library(fake_openlibrary).search(CatalogQuery(text="zzzz qqqq")) == []


def test_a_repeated_query_costs_no_second_http_call(fake_openlibrary):
    catalog = open_library(fake_openlibrary)
    first = catalog.search(HOBBIT)
    again = catalog.search(CatalogQuery(text="the hobbit  tolkien", title="THE HOBBIT", author="tolkien"))
    assert again == first
    assert len(fake_openlibrary.requests) == 1


def test_empty_answers_are_cached_too(fake_openlibrary):
    catalog = open_library(fake_openlibrary)
    catalog.search(CatalogQuery(text="zzzz"))
    catalog.search(CatalogQuery(text="zzzz"))
    assert len(fake_openlibrary.requests) == 1


def test_a_429_is_retried_after_retry_after_then_succeeds(fake_openlibrary):
    # Given one 429 asking for 2 s
    fake_openlibrary.fail_next(too_many_requests(retry_after=2))
    catalog = open_library(fake_openlibrary)
    # When
    books = catalog.search(HOBBIT)
    # Then
    assert [b.title for b in books] == ["The Hobbit"]
    assert catalog.slept == [2.0]
    assert len(fake_openlibrary.requests) == 2


def test_persistent_5xx_raises_unavailable_after_a_small_budget_and_is_not_cached(fake_openlibrary):
    fake_openlibrary.fail_next(unavailable(), unavailable(), unavailable())
    catalog = open_library(fake_openlibrary, attempts=3)
    with pytest.raises(ProviderUnavailableError) as raised:
        catalog.search(HOBBIT)
    assert raised.value.provider == "openlibrary"
    assert len(fake_openlibrary.requests) == 3
    # and the failure was not cached: the next search calls again and succeeds
    assert catalog.search(HOBBIT)[0].title == "The Hobbit"
    assert len(fake_openlibrary.requests) == 4


def test_a_retry_after_longer_than_max_wait_is_raised_at_once(fake_openlibrary):
    fake_openlibrary.fail_next(too_many_requests(retry_after=3600))
    catalog = open_library(fake_openlibrary, attempts=3, max_wait=10)
    with pytest.raises(ThrottledError) as raised:
        catalog.search(HOBBIT)
    assert raised.value.retry_after == 3600.0
    assert catalog.slept == [] and len(fake_openlibrary.requests) == 1


def test_a_retry_after_given_as_an_http_date_is_honoured(fake_openlibrary):
    fake_openlibrary.fail_next(too_many_requests(retry_after="Wed, 21 Oct 2015 07:28:00 GMT"))
    catalog = open_library(fake_openlibrary, attempts=1)
    with pytest.raises(ThrottledError) as raised:
        catalog.search(HOBBIT)
    assert raised.value.retry_after == 0.0  # a date in the past: retry now


def test_a_slow_server_raises_a_timeout(fake_openlibrary):
    fake_openlibrary.fail_next(Reply(200, {"docs": []}, delay=1.0))
    with httpx.Client(timeout=0.2) as http:
        catalog = OpenLibraryCatalog(fake_openlibrary.url, http, None, attempts=1)
        with pytest.raises(ProviderTimeoutError):
            catalog.search(HOBBIT)


def test_a_client_error_is_permanent(fake_openlibrary):
    fake_openlibrary.fail_next(Reply(400, {"error": "bad query"}))
    with pytest.raises(PermanentError):
        open_library(fake_openlibrary, attempts=3).search(HOBBIT)
    assert len(fake_openlibrary.requests) == 1


def test_an_injected_cache_is_used_and_bounded(fake_openlibrary):
    cache = LookupCache(maxsize=1)
    catalog = OpenLibraryCatalog(fake_openlibrary.url, None, cache, sleep=lambda s: None, timeout=30.0)
    catalog.search(HOBBIT)
    catalog.search(CatalogQuery(text="fantastic fox"))
    catalog.search(HOBBIT)  # evicted by the fox: fetched again
    assert len(cache) == 1 and len(fake_openlibrary.requests) == 3


# --- Google Books ------------------------------------------------------------------------------


def test_google_volumes_become_catalog_books(fake_googlebooks):
    [book] = google(fake_googlebooks).search(CatalogQuery(text="fantastic mr fox", title="Fantastic Mr Fox"))
    assert book.book_id == "gb:OL45804W"
    assert (book.title, book.author, book.isbn) == ("Fantastic Mr Fox: A Tale", "Roald Dahl", "9780142410349")
    assert book.cover_url.startswith("https://books.google.com/")
    assert book.source == "googlebooks"
    assert fake_googlebooks.requests[0].arg("q") == 'intitle:"Fantastic Mr Fox"'


def test_google_sends_the_api_key_and_caps_max_results(fake_googlebooks):
    catalog = google(fake_googlebooks, api_key="secret-key")
    catalog.search(CatalogQuery(text="", isbn="9788497592208"), limit=100)
    request = fake_googlebooks.requests[0]
    assert request.arg("key") == "secret-key"
    assert request.arg("maxResults") == "40"
    assert request.arg("q") == "isbn:9788497592208"
    assert "secret-key" not in repr(catalog)


def test_google_with_no_items_is_an_empty_list(fake_googlebooks):
    assert google(fake_googlebooks).search(CatalogQuery(text="zzzz")) == []


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (too_many_requests(retry_after=1), ThrottledError),
        (google_quota_exceeded("rateLimitExceeded"), ThrottledError),
        (google_quota_exceeded("dailyLimitExceeded"), ThrottledError),
        (unavailable(), ProviderUnavailableError),
        (Reply(403, {"error": {"code": 403, "errors": [{"reason": "forbidden"}]}}), PermanentError),
    ],
)
def test_google_failures_map_to_typed_errors(fake_googlebooks, reply, expected):
    fake_googlebooks.fail_next(reply)
    with pytest.raises(expected):
        google(fake_googlebooks, attempts=1).search(HOBBIT)


def test_the_api_key_never_appears_in_an_error(fake_googlebooks):
    fake_googlebooks.fail_next(unavailable())
    with pytest.raises(ProviderUnavailableError) as raised:
        google(fake_googlebooks, api_key="secret-key", attempts=1).search(HOBBIT)
    assert "secret-key" not in str(raised.value)


# --- LookupCache -------------------------------------------------------------------------------


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_cache_evicts_the_least_recently_used_entry():
    cache = LookupCache(maxsize=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert "b" not in cache and cache.get("a") == 1 and cache.get("c") == 3


def test_cache_entries_expire_after_the_ttl():
    clock = Clock()
    cache = LookupCache(maxsize=10, ttl=60, clock=clock)
    cache.put("k", "v")
    clock.now = 59.9
    assert cache.get("k") == "v"
    clock.now = 60.0
    assert cache.get("k") is None and len(cache) == 0


def test_a_failed_load_stores_nothing():
    cache = LookupCache()
    with pytest.raises(RuntimeError):
        cache.get_or_load("k", lambda: (_ for _ in ()).throw(RuntimeError("boom")))
    assert "k" not in cache
    assert cache.get_or_load("k", lambda: []) == [] and "k" in cache
