"""Review applied to a result: confirmed, replaced and removed books, unnamed spines named or dropped, the
pipeline's result left as it was, and reviews that do not fit the result refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models import Book, BookReview, JobResult, JobStatus, Point, ReviewedBook, Unidentified
from workers.common.reviews import REMOVED_REASON, ReviewError, check_reviews, merged_reviews, reviewed_result

SQUARE = [Point(x=0.1, y=0.1), Point(x=0.2, y=0.1), Point(x=0.2, y=0.9), Point(x=0.1, y=0.9)]


def result() -> JobResult:
    return JobResult(
        job_id="job1",
        status=JobStatus.COMPLETED,
        books=[
            Book(title="Dune", author="Herbert, Frank", isbn="9780441013593", confidence=0.9, evidence="DUNE HERBERT",
                 polygon=SQUARE),
            Book(title="Emma", author="Austen, Jane", confidence=0.6, evidence="EMMA"),
            Book(title="Ulysses", author="Joyce, James", confidence=0.7, evidence="ULYSSES"),
        ],
        unidentified=[Unidentified(text="", reason="a spine was found here, but none of its text could be read",
                                   polygon=SQUARE),
                      Unidentified(text="zzz", reason="no catalog book shares its words")],
        finished_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


def review(spine: str, index: int, action: str, title: str | None = None) -> BookReview:
    return BookReview(spine=spine, index=index, action=action,
                      book=ReviewedBook(title=title, author="Someone") if title else None)


def test_without_reviews_every_spine_carries_where_it_stands_in_the_result():
    shown = reviewed_result(result(), [])
    assert [b.ref for b in shown.books] == ["book/0", "book/1", "book/2"]
    assert [u.ref for u in shown.unidentified] == ["unidentified/0", "unidentified/1"]
    assert [b.review for b in shown.books] == [None, None, None]


def test_a_confirmed_book_is_marked_and_a_replaced_one_swapped_in_place_keeping_its_outline():
    original = result()
    shown = reviewed_result(original, [review("book", 0, "confirm"), review("book", 1, "replace", "Persuasion")])
    assert [(b.title, b.review) for b in shown.books] == [
        ("Dune", "confirmed"), ("Persuasion", "replaced"), ("Ulysses", None)]
    replaced = shown.books[1]
    assert replaced.confidence == 1.0 and replaced.catalog == "review" and replaced.evidence == "EMMA"
    assert replaced.ref == "book/1"
    assert original.books[1].title == "Emma"  # the pipeline's result is not rewritten


def test_a_removed_book_stays_as_a_spine_not_named_and_an_unnamed_spine_can_be_named_or_dropped():
    shown = reviewed_result(result(), [
        review("book", 0, "remove"), review("unidentified", 0, "replace", "Middlemarch"),
        review("unidentified", 1, "remove")])
    assert [b.title for b in shown.books] == ["Emma", "Ulysses", "Middlemarch"]
    named = shown.books[-1]
    assert named.review == "named" and named.polygon == SQUARE and named.ref == "unidentified/0"
    assert [(u.text, u.reason, u.ref) for u in shown.unidentified] == [("DUNE HERBERT", REMOVED_REASON, "book/0")]
    assert shown.unidentified[0].polygon == SQUARE


def test_the_latest_review_of_a_spine_wins():
    reviews = merged_reviews([review("book", 1, "replace", "Persuasion"), review("book", 2, "confirm")],
                             [review("book", 1, "confirm")])
    assert [(r.index, r.action) for r in reviews] == [(1, "confirm"), (2, "confirm")]
    assert [b.title for b in reviewed_result(result(), reviews).books] == ["Dune", "Emma", "Ulysses"]


@pytest.mark.parametrize(
    "bad, message",
    [
        (review("book", 3, "confirm"), "book 3 does not exist: the result has 3 books"),
        (review("unidentified", 2, "remove"), "unidentified 2 does not exist"),
        (review("book", 0, "replace"), "needs the book that stands there"),
        (review("book", 0, "confirm", "Dune"), "only a replace names a book"),
        (review("unidentified", 0, "confirm"), "names no book to confirm"),
    ],
)
def test_reviews_that_do_not_fit_the_result_are_refused_with_the_reason(bad, message):
    with pytest.raises(ReviewError, match=message):
        check_reviews(result(), [bad])
