"""The shelf audit: this library's collation rules, pinned, and what a shelf's books say is out of place."""

from __future__ import annotations

import pytest

from models import Book, BoundingBox
from workers.catalog.base import CatalogBook
from workers.catalog.call_numbers import DEFAULT_RULES, CollationRules, parse_call_number, section, sort_key
from workers.common.quarter_turn import turn_box
from workers.common.shelf_rows import shelf_rows
from workers.validation.audit import audit_shelf, longest_ordered_run


def filed(tags: list[str], rules: CollationRules = DEFAULT_RULES) -> list[str]:
    return sorted(tags, key=lambda tag: sort_key(parse_call_number(tag, rules), "", rules))


# --- collation ---------------------------------------------------------------------------------------


def test_a_decimal_class_files_digit_by_digit_as_a_fraction():
    assert filed(["796.4 Ali", "796.332 Tom", "796 Ali", "79 Zap", "8 Abe", "796.33 Bar"]) == [
        "79 Zap", "796 Ali", "796.33 Bar", "796.332 Tom", "796.4 Ali", "8 Abe"]


def test_a_form_subdivision_in_brackets_files_after_its_class_and_before_its_decimals():
    assert filed(["796.1 Bar", "796(03) Dic", "796 Ali", "796(09) His"]) == [
        "796 Ali", "796(03) Dic", "796(09) His", "796.1 Bar"]


def test_another_library_may_file_brackets_after_every_decimal():
    rules = CollationRules(auxiliaries_before_subdivisions=False)
    assert filed(["796.1 Bar", "796(03) Dic", "796 Ali"], rules) == ["796 Ali", "796.1 Bar", "796(03) Dic"]


def test_the_author_mark_orders_books_of_one_class_ignoring_case_and_accents():
    assert filed(["821 Orw", "821 Aus", "821 Ábr", "821 dic"]) == ["821 Ábr", "821 Aus", "821 dic", "821 Orw"]


def test_only_the_marks_first_letters_count_by_the_rules():
    three = CollationRules(mark_letters=3)
    assert sort_key(parse_call_number("821 Orwe", three), "", three) == sort_key(
        parse_call_number("821 Orwa", three), "", three)
    assert parse_call_number("821 Orwe", CollationRules(mark_letters=4)).mark == "orwe"


def test_collections_and_their_sections():
    for tag, collection, book_section in [("N Fol", "N", "N"), ("JN Gar", "JN", "JN"), ("I** Pra", "I**", "I**"),
                                          ("I641 Dre", "I", "I"), ("N 834B Bry", "N", "N"),
                                          ("796.332 Tom", "", "7"), ("92(Cre) Bat", "", "9")]:
        parsed = parse_call_number(tag)
        assert (parsed.collection, section(parsed)) == (collection, book_section), tag
    assert section(parse_call_number("796.332 Tom"), CollationRules(section_digits=3)) == "796"
    assert parse_call_number("") is None


def test_books_sharing_a_call_number_stand_in_any_order_unless_the_rules_order_them_by_title():
    tag = parse_call_number("796.422 Ali")
    assert sort_key(tag, "Maratón") == sort_key(tag, "Correr")
    by_title = CollationRules(title_breaks_ties=True)
    assert sort_key(tag, "Correr", by_title) < sort_key(tag, "Maratón", by_title)


# --- the audit ---------------------------------------------------------------------------------------


def spine(title: str, tag: str, x: float, *, row: int = 0, signals=("title", "call_number")) -> Book:
    return Book(title=title, author="Autor, Uno", tag=tag, confidence=0.95, signals=list(signals),
                box=BoundingBox(left=x, top=0.05 + 0.5 * row, width=0.03, height=0.4))


ROW = [("Atletismo", "796.4 Ali"), ("Baloncesto", "796.323 Bal"), ("Fútbol", "796.332 Fut"),
       ("Tenis", "796.342 Ten"), ("Golf", "796.352 Gol"), ("Ciclismo", "796.6 Cic")]
"""Filed order is by call number: 796.323 < 796.332 < 796.342 < 796.352 < 796.4 < 796.6."""


def test_the_longest_ordered_run_leaves_out_the_fewest():
    assert longest_ordered_run([("a",), ("c",), ("b",), ("d",)]) in ([0, 1, 3], [0, 2, 3])
    assert longest_ordered_run([("a",), ("a",), ("b",)]) == [0, 1, 2]  # equal call numbers are in order
    assert longest_ordered_run([]) == []


def test_one_book_moved_is_the_only_one_flagged_and_told_where_it_belongs():
    # Given a row in call-number order, except 796.4 Ali standing first instead of after 796.352
    books = [spine(title, tag, 0.05 + 0.1 * i) for i, (title, tag) in enumerate(ROW)]
    audit = audit_shelf(books, [])
    assert audit is not None
    # Then only it is out of order, and it belongs between Golf and Ciclismo
    (moved,) = audit.out_of_order
    assert (moved.title, moved.tag, moved.position) == ("Atletismo", "796.4 Ali", 1)
    assert moved.belongs == "between 'Golf' (796.352 Gol) and 'Ciclismo' (796.6 Cic)"
    assert audit.other_section == [] and audit.audited == 6 and audit.rows == 1


def test_a_shelf_photographed_on_its_side_is_audited_as_the_row_it_is():
    # Given the same row photographed lying on its side: left to right in the photo stood upright
    books = [spine(title, tag, 0.05 + 0.1 * i) for i, (title, tag) in enumerate(ROW)]
    lying = [b.model_copy(update={"box": turn_box(b.box, 270, back=True)}) for b in books]
    audit = audit_shelf(lying, [], upright_turn=270)
    # Then it is one row, and the same book is out of order
    assert audit.rows == 1 and [b.title for b in audit.out_of_order] == ["Atletismo"]


def test_a_book_from_another_section_is_reported_as_such_not_as_out_of_order():
    books = [spine(t, tag, 0.05 + 0.1 * i) for i, (t, tag) in enumerate(ROW[1:])]
    books.insert(2, spine("Novela", "N Fol", 0.22))
    audit = audit_shelf(books, [])
    assert [(b.title, b.section, b.shelf_sections) for b in audit.other_section] == [("Novela", "N", ["7"])]
    assert audit.out_of_order == []


def test_each_shelf_row_is_audited_left_to_right_on_its_own():
    top = [spine(t, tag, 0.05 + 0.1 * i, row=0) for i, (t, tag) in enumerate(ROW[1:4])]
    bottom = [spine("Ajedrez", "794.1 Aje", 0.5, row=1), spine("Damas", "794.2 Dam", 0.3, row=1)]
    rows = shelf_rows(list(reversed(top)) + bottom)
    assert [[b.title for b in row] for row in rows] == [["Baloncesto", "Fútbol", "Tenis"], ["Damas", "Ajedrez"]]
    audit = audit_shelf(top + bottom, [])
    assert [(b.title, b.row) for b in audit.out_of_order] == [("Damas", 1)]


def test_a_book_without_a_box_is_left_out_of_the_order_unless_none_has_one():
    boxed = [spine(t, tag, 0.05 + 0.1 * i) for i, (t, tag) in enumerate(ROW[1:])]
    loose = Book(title="Atletismo", tag="796.4 Ali", confidence=0.9, signals=["call_number"])
    assert [[b.title for b in row] for row in shelf_rows([loose, *boxed])] == [[b.title for b in boxed]]
    unplaced = [b.model_copy(update={"box": None}) for b in boxed]
    assert shelf_rows(unplaced) == [unplaced]


def test_catalog_books_inside_the_rows_range_not_seen_are_not_on_the_shelf():
    books = [spine(t, tag, 0.05 + 0.1 * i) for i, (t, tag) in enumerate(ROW[1:])]
    catalog = [CatalogBook(str(i), title, "Autor, Uno", tag=tag) for i, (title, tag) in enumerate(ROW[1:])] + [
        CatalogBook("a", "Rugby", tag="796.333 Rug"),      # inside the range: on loan, missing or misfiled
        CatalogBook("b", "Ajedrez", tag="794.1 Aje"),      # before the range
        CatalogBook("c", "Vela", tag="797.1 Vel"),         # after it
        CatalogBook("d", "Fútbol", tag="796.332 Fut"),     # a second copy of one seen once
    ]
    audit = audit_shelf(books, catalog)
    assert sorted((b.title, b.tag) for b in audit.not_on_shelf) == [("Fútbol", "796.332 Fut"), ("Rugby", "796.333 Rug")]
    assert audit.note is None


def test_a_home_shelf_showing_no_call_numbers_gets_no_audit():
    books = [spine(t, tag, 0.1 * i, signals=("title", "author")) for i, (t, tag) in enumerate(ROW)]
    assert audit_shelf(books, []) is None


@pytest.mark.parametrize("shelved", [[], [CatalogBook("x", "Sin signatura")]])
def test_without_call_numbers_in_the_catalog_the_audit_says_the_gaps_are_not_listed(shelved):
    books = [spine(t, tag, 0.1 * i) for i, (t, tag) in enumerate(ROW[1:])]
    audit = audit_shelf(books, shelved)
    assert audit.not_on_shelf == [] and "not listed" in audit.note


def test_a_spine_read_only_at_one_end_stands_in_its_row_and_two_shelves_stay_two():
    from models import BoundingBox

    def boxed(title: str, left: float, top: float, height: float) -> Book:
        return Book(title=title, confidence=0.9, box=BoundingBox(left=left, top=top, width=0.05, height=height))

    # a top shelf (spines from 0.05 to 0.45), one spine read only at its top end, one only at its bottom end
    top = [boxed("t1", 0.1, 0.06, 0.08), boxed("t2", 0.2, 0.05, 0.4), boxed("t3", 0.3, 0.36, 0.08)]
    # and a bottom shelf (0.52 to 0.95), a spine of it read only in its middle
    bottom = [boxed("b1", 0.15, 0.52, 0.43), boxed("b2", 0.25, 0.70, 0.06)]
    rows = shelf_rows([bottom[1], top[2], bottom[0], top[0], top[1]])
    assert [[b.title for b in row] for row in rows] == [["t1", "t2", "t3"], ["b1", "b2"]]
