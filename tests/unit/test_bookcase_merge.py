"""A bookcase's photos merged into one list: by the shelf sequence the photos share, not by title alone."""

from __future__ import annotations

from models import Book, BoundingBox, JobResult, JobStatus, Unidentified, utc_now
from workers.merge.alignment import merge_sequences, merged_unidentified, shelf_order


def shelf(*titles: str, top: float = 0.1) -> list[Book]:
    """A photo's books, left to right, each in a box of its own."""
    return [
        Book(title=title, author=f"Author of {title}", confidence=0.9,
             box=BoundingBox(left=i / len(titles), top=top, width=0.8 / len(titles), height=0.8))
        for i, title in enumerate(titles)
    ]


def titles(books: list[Book]) -> list[str]:
    return [book.title for book in books]


def photos_seen(book: Book) -> list[int]:
    return [sighting.photo for sighting in book.seen_in]


def test_one_photo_is_its_own_books_left_to_right_each_seen_once():
    books = merge_sequences([shelf("a", "b", "c")], ["p0"])
    assert titles(books) == ["a", "b", "c"]
    assert all(photos_seen(b) == [0] and b.seen_in[0].job_id == "p0" for b in books)
    assert books[1].seen_in[0].box == books[1].box


def test_a_book_on_two_overlapping_photos_is_listed_once_with_both_photos():
    books = merge_sequences([shelf("a", "b", "c", "d", "e"), shelf("d", "e", "f", "g")], ["p0", "p1"])
    assert titles(books) == ["a", "b", "c", "d", "e", "f", "g"]
    assert [photos_seen(b) for b in books] == [[0], [0], [0], [0, 1], [0, 1], [1], [1]]
    assert [s.job_id for s in books[3].seen_in] == ["p0", "p1"]
    assert books[3].seen_in[1].box.left == 0.0  # the box in the second photo, where it stands first


def test_two_copies_standing_together_in_the_overlap_stay_two():
    books = merge_sequences([shelf("a", "b", "c", "c", "d"), shelf("c", "c", "d", "e")], ["p0", "p1"])
    assert titles(books) == ["a", "b", "c", "c", "d", "e"]
    assert [photos_seen(b) for b in books if b.title == "c"] == [[0, 1], [0, 1]]


def test_a_copy_outside_the_shared_run_is_a_second_book_not_a_repeat():
    books = merge_sequences([shelf("c", "x", "y"), shelf("x", "y", "c")], ["p0", "p1"])
    assert titles(books) == ["c", "x", "y", "c"]
    assert [photos_seen(b) for b in books] == [[0], [0, 1], [0, 1], [1]]


def test_photos_that_share_no_run_of_neighbours_are_two_stretches_of_shelf():
    assert titles(merge_sequences([shelf("a", "b"), shelf("c", "d")], ["p0", "p1"])) == ["a", "b", "c", "d"]
    # one shared title at the seam is not a shared run: it may be a second copy on the next stretch
    assert titles(merge_sequences([shelf("a", "b", "c"), shelf("c", "d", "e")], ["p0", "p1"])) == [
        "a", "b", "c", "c", "d", "e"]


def test_a_spine_one_photo_did_not_name_keeps_its_place_in_the_overlap():
    books = merge_sequences([shelf("a", "b", "c", "d"), shelf("b", "d", "e")], ["p0", "p1"])
    assert titles(books) == ["a", "b", "c", "d", "e"]
    books = merge_sequences([shelf("a", "b", "d"), shelf("b", "c", "d", "e")], ["p0", "p1"])
    assert titles(books) == ["a", "b", "c", "d", "e"]


def test_a_photo_of_the_stretch_to_the_left_goes_in_front():
    books = merge_sequences([shelf("d", "e", "f"), shelf("a", "b", "d", "e")], ["p0", "p1"])
    assert titles(books) == ["a", "b", "d", "e", "f"]
    assert [photos_seen(b) for b in books] == [[1], [1], [0, 1], [0, 1], [0]]


def test_three_photos_chain_into_one_shelf():
    books = merge_sequences(
        [shelf("a", "b", "c", "d"), shelf("c", "d", "e", "f"), shelf("e", "f", "g")], ["p0", "p1", "p2"]
    )
    assert titles(books) == ["a", "b", "c", "d", "e", "f", "g"]
    assert photos_seen(books[4]) == [1, 2]


def test_the_better_read_sighting_names_the_merged_book():
    left, right = shelf("a", "b", "c"), shelf("b", "c", "d")
    left[2] = left[2].model_copy(update={"confidence": 0.6, "isbn": None})
    right[1] = right[1].model_copy(update={"confidence": 0.97})
    books = merge_sequences([left, right], ["p0", "p1"])
    assert [b.confidence for b in books if b.title == "c"] == [0.97]


def test_books_are_read_along_the_shelf_by_their_boxes_top_shelf_first():
    top, bottom = shelf("a", "b"), shelf("c", "d", top=0.55)
    for book in top + bottom:
        book.box = book.box.model_copy(update={"height": 0.4})
    assert titles(shelf_order([bottom[1], top[1], bottom[0], top[0]])) == ["a", "b", "c", "d"]


def test_every_photos_unnamed_spines_are_kept_saying_which_photo():
    results = [
        JobResult(job_id=f"p{n}", status=JobStatus.COMPLETED, finished_at=utc_now(),
                  unidentified=[Unidentified(text=f"smudge {n}", reason="no catalog match")])
        for n in range(2)
    ]
    assert [(u.text, u.photo) for u in merged_unidentified(results)] == [("smudge 0", 0), ("smudge 1", 1)]


def test_spines_read_only_at_one_end_keep_their_place_on_the_shelf_and_the_overlap_still_pairs():
    # Given a photo whose first spine was read only near its top and whose fourth only near its bottom
    # (their boxes cover the title end alone), and the next photo sharing its last two spines
    left = shelf("a", "b", "c", "d", "e")
    left[0].box = left[0].box.model_copy(update={"top": 0.1, "height": 0.15})
    left[3].box = left[3].box.model_copy(update={"top": 0.75, "height": 0.15})
    right = shelf("d", "e", "f")
    # Then the photo still reads left to right, and the shared spines are listed once
    assert titles(shelf_order(left)) == ["a", "b", "c", "d", "e"]
    books = merge_sequences([left, right], ["p0", "p1"])
    assert titles(books) == ["a", "b", "c", "d", "e", "f"]
    assert [photos_seen(b) for b in books] == [[0], [0], [0], [0, 1], [0, 1], [1]]


def test_two_neighbours_read_in_opposite_order_at_a_photos_edge_are_still_listed_once_each():
    # Given a photo whose last two spines, cut by its edge, came out the wrong way round, and the next photo
    # that shows them whole, in their order
    left, right = shelf("a", "b", "c", "e", "d"), shelf("b", "c", "d", "e", "f")
    books = merge_sequences([left, right], ["p0", "p1"])
    # Then each book is listed once, seen in both photos where both show it
    assert sorted(titles(books)) == ["a", "b", "c", "d", "e", "f"]
    assert {b.title: photos_seen(b) for b in books} == {"a": [0], "b": [0, 1], "c": [0, 1], "d": [0, 1],
                                                         "e": [0, 1], "f": [1]}


def test_two_copies_of_one_book_side_by_side_in_the_overlap_stay_two():
    left, right = shelf("a", "b", "x", "x"), shelf("x", "x", "c")
    assert titles(merge_sequences([left, right], ["p0", "p1"])) == ["a", "b", "x", "x", "c"]
