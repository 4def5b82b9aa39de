"""Review: what a person said of a result's spines, and the result as it stands after it.

The result object the pipeline wrote is never rewritten. Reviews are kept on the job's record, each pointing
at a spine of that result (a book, or a spine the pipeline could not name), and every reader of the result
(the API, the exports, the page) sees `reviewed_result`: so a review can be changed again, and what the
pipeline said stays on record beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from models import Book, BookReview, JobResult, Unidentified

REMOVED_REASON = "marked in review as not this book"


class ReviewError(ValueError):
    """A review that does not fit the result it points into."""


def check_reviews(result: JobResult, reviews: Iterable[BookReview]) -> None:
    """Refuse reviews that point past the result's lists, or say what cannot be said of a spine."""
    for review in reviews:
        spines = result.books if review.spine == "book" else result.unidentified
        if review.index >= len(spines):
            raise ReviewError(
                f"{review.spine} {review.index} does not exist: the result has {len(spines)} "
                f"{'books' if review.spine == 'book' else 'spines it could not name'}"
            )
        if review.action == "replace" and review.book is None:
            raise ReviewError(f"replacing {review.spine} {review.index} needs the book that stands there")
        if review.action != "replace" and review.book is not None:
            raise ReviewError(f"only a replace names a book; {review.action} {review.spine} {review.index} gave one")
        if review.spine == "unidentified" and review.action == "confirm":
            raise ReviewError(f"unidentified {review.index} names no book to confirm: replace or remove it")


def merged_reviews(earlier: Sequence[BookReview], later: Sequence[BookReview]) -> list[BookReview]:
    """One review per spine, the latest winning; kept in the order spines were first reviewed."""
    merged: dict[tuple[str, int], BookReview] = {}
    for review in [*earlier, *later]:
        merged[(review.spine, review.index)] = review
    return list(merged.values())


def _named(spine: Book | Unidentified, review: BookReview, mark: str) -> Book:
    assert review.book is not None
    return Book(
        title=review.book.title,
        author=review.book.author,
        isbn=review.book.isbn,
        tag=review.book.tag,
        cover_url=review.book.cover_url,
        confidence=1.0,
        evidence=spine.evidence if isinstance(spine, Book) else spine.text,
        catalog="review",
        box=spine.box,
        polygon=spine.polygon,
        review=mark,
        ref=spine.ref,
    )


def reviewed_result(result: JobResult, reviews: Sequence[BookReview]) -> JobResult:
    """The result with its reviews applied: confirmed books marked, replaced ones swapped in place, a book
    removed kept as a spine not named (its outline and text are still there), an unnamed spine named joins
    the books and one removed is dropped (it is not a book). Every spine carries its `ref`, reviewed or not."""
    by_spine = {(review.spine, review.index): review for review in merged_reviews([], reviews)}
    books: list[Book] = []
    unidentified: list[Unidentified] = []
    for index, book in enumerate(result.books):
        review = by_spine.get(("book", index))
        book = book.model_copy(update={"ref": f"book/{index}"})
        if review is None:
            books.append(book)
        elif review.action == "confirm":
            books.append(book.model_copy(update={"review": "confirmed"}))
        elif review.action == "replace":
            books.append(_named(book, review, "replaced"))
        else:
            unidentified.append(Unidentified(text=book.evidence, reason=REMOVED_REASON, box=book.box,
                                             polygon=book.polygon, ref=book.ref))
    for index, spine in enumerate(result.unidentified):
        review = by_spine.get(("unidentified", index))
        spine = spine.model_copy(update={"ref": f"unidentified/{index}"})
        if review is None:
            unidentified.append(spine)
        elif review.action == "replace":
            books.append(_named(spine, review, "named"))
    return result.model_copy(update={"books": books, "unidentified": unidentified})
