"""The shelf's order as evidence: a spine between two books named for sure stands between their call numbers."""

from __future__ import annotations

import pytest

from models import BoundingBox, Candidate, Point
from tests.fakes.catalogs import small_library
from workers.bedrock.offline import candidate_from_text
from workers.catalog.local import LocalCatalog
from workers.catalog.matcher import SHELF_SURE, identify_books, to_result_books
from workers.common.quarter_turn import turn_box

_BOOKS = [
    ("Camins de sal", "Abad, Marta", "N Aba"),
    ("La casa del riu", "Bosch, Pere", "N Bos"),
    ("Quadern de viatge", "Casas, Joan", "N Cas"),
    ("El far apagat", "Duran, Laia", "N Dur"),
    ("Les hores lentes", "Espinàs, Oriol", "N Esp"),
    ("Futbol", "Ferrer, Anna", "N Fer"),
    ("Germans de pluja", "Garcia, Miquel", "N Gar"),
    ("Hivern a Lisboa", "Homs, Clara", "N Hom"),
    ("Futbol", "Riera, Pau", "796.332 Rie"),
    ("Illes perdudes", "Ivars, Jordi", "N Iva"),
    ("Jardins de nit", "Homs, Clara", "N Hom"),
]


@pytest.fixture(scope="module")
def catalog() -> LocalCatalog:
    return small_library(_BOOKS)


def _spine(text: str, position: int, row: int = 0) -> Candidate:
    """A spine standing at `position` on shelf row `row` of the photo."""
    box = BoundingBox(left=0.02 + 0.1 * position, top=0.05 + 0.5 * row, width=0.08, height=0.4)
    return candidate_from_text(text).model_copy(update={"box": box})


def _sure(index: int, position: int, row: int = 0) -> Candidate:
    title, author, tag = _BOOKS[index]
    return _spine(f"{title} {author.split(',')[0].upper()} {tag}", position, row)


def _unread(position: int, row: int = 0) -> Candidate:
    return _spine("", position, row)


def _named(outcome) -> dict[int, str]:
    return {item.candidate_index: item.book.title for item in outcome.identified}


def test_an_unread_spine_between_two_sure_books_names_the_one_book_filed_between_them(catalog):
    # Given a fiction shelf in order, and a spine nothing could be read on between 'N Aba' and 'N Cas'
    spines = [_sure(0, 0), _unread(1), _sure(2, 2), _sure(3, 3), _sure(4, 4)]
    outcome = identify_books(spines, catalog)
    # Then it is the one book the catalog files between them, named with less than a sure book's confidence
    assert _named(outcome)[1] == "La casa del riu"
    books, _ = to_result_books(outcome)
    assert books[1].signals == ["shelf"]
    assert 0.5 <= books[1].confidence < SHELF_SURE
    assert books[1].box == spines[1].box


def test_an_unread_spine_stays_unnamed_where_the_catalog_files_more_books_than_spines_stand(catalog):
    # Given two books filed between 'N Aba' and 'N Dur' (one of them on loan) and one unread spine there
    outcome = identify_books([_sure(0, 0), _unread(1), _sure(3, 2), _sure(4, 3), _sure(6, 4)], catalog)
    # Then nothing says which of the two it is
    assert 1 not in _named(outcome)
    assert any(item.candidate_index == 1 for item in outcome.unidentified)


def test_a_row_that_shows_no_call_numbers_gives_no_order(catalog):
    # Given a home shelf: the same books, titles and authors read, no stickers
    def no_sticker(index: int, position: int) -> Candidate:
        title, author, _ = _BOOKS[index]
        return _spine(f"{title} {author.split(',')[0].upper()}", position)

    outcome = identify_books([no_sticker(0, 0), _unread(1), no_sticker(2, 2), no_sticker(3, 3), no_sticker(4, 4)],
                             catalog)
    # Then the unread spine is not guessed from an order the shelf does not keep
    assert 1 not in _named(outcome)


def test_a_title_two_classes_share_is_named_as_the_book_filed_where_it_stands(catalog):
    # Given a spine reading only 'FUTBOL', which a novel ('N Fer') and a sports book ('796.332 Rie') are both called
    alone = identify_books([candidate_from_text("FUTBOL")], catalog)
    outcome = identify_books([_sure(3, 0), _sure(4, 1), _spine("FUTBOL", 2), _sure(6, 3), _sure(7, 4)], catalog)
    # Then alone it is either; between 'N Esp' and 'N Gar' it is the novel
    assert alone.identified == []
    named = {item.candidate_index: item.book for item in outcome.identified}
    assert named[2].tag == "N Fer"


def test_a_spine_at_the_end_of_a_row_is_placed_by_the_first_book_of_the_row_below(catalog):
    # Given a shelf of two rows whose call numbers follow on, an unread spine last on the top row
    spines = [_sure(0, 0), _sure(1, 1), _sure(2, 2), _unread(3),
              _sure(4, 0, row=1), _sure(5, 1, row=1), _sure(6, 2, row=1)]
    outcome = identify_books(spines, catalog)
    # Then it is the book filed between the top row's last book and the next row's first
    assert _named(outcome)[3] == "El far apagat"


def test_a_spine_whose_words_point_elsewhere_says_the_count_is_off(catalog):
    # Given a spine between 'N Aba' and 'N Cas' whose words fit many books filed elsewhere, none of them enough
    spines = [_sure(0, 0), _spine("Llibre de prova", 1), _sure(2, 2), _sure(3, 3), _sure(4, 4)]
    outcome = identify_books(spines, catalog)
    # Then the book filed between them is not forced on it: the spine is likelier one the catalog lacks
    assert 1 not in _named(outcome)


def test_an_unread_spine_left_unnamed_says_which_books_the_catalog_files_between_its_neighbours(catalog):
    # Given one unread spine between 'N Aba' and 'N Dur', where two books are filed
    outcome = identify_books([_sure(0, 0), _unread(1), _sure(3, 2), _sure(4, 3), _sure(6, 4)], catalog)
    # Then its reason names the two, so a reader can look for them
    _, unidentified = to_result_books(outcome)
    assert unidentified[0].reason == (
        "a spine was found here, but none of its text could be read; the catalog files 2 books between its "
        "neighbours that are not on the photo: 'La casa del riu' (N Bos), 'Quadern de viatge' (N Cas)")


def test_a_word_read_apart_from_its_named_spine_takes_no_place_of_its_own(catalog):
    # Given the author's forename read apart from the spine it is printed on (one spine region outlines both), and
    # a second book of hers filed under the same call number that is not on the photo
    outline = [Point(x=0.32, y=0.05), Point(x=0.40, y=0.05), Point(x=0.40, y=0.45), Point(x=0.32, y=0.45)]
    spine, word = (candidate.model_copy(update={"polygon": outline}) for candidate in (_sure(7, 3), _spine("CLARA", 3)))
    outcome = identify_books([_sure(4, 0), _sure(5, 1), _sure(6, 2), spine, word, _sure(9, 4)], catalog)
    # Then the word is not taken for that second book's spine
    assert _named(outcome)[3] == "Hivern a Lisboa"
    assert 4 not in _named(outcome)


def test_a_shelf_photographed_on_its_side_keeps_its_order_read_turned_upright(catalog):
    # Given the same shelf photographed lying on its side: left to right becomes bottom to top
    upright = [_sure(0, 0), _unread(1), _sure(2, 2), _sure(3, 3), _sure(4, 4)]
    lying = [spine.model_copy(update={"box": turn_box(spine.box, 270, back=True)}) for spine in upright]
    # Then, told how the photo stands upright, the unread spine is the book filed between its neighbours
    assert _named(identify_books(lying, catalog, upright_turn=270))[1] == "La casa del riu"
    # And read as it lies, each spine is a row of its own, which keeps no order
    assert 1 not in _named(identify_books(lying, catalog))


def test_two_books_read_on_one_spine_region_stand_in_filing_order_among_themselves(catalog):
    # Given two thin spines the edges did not part ('N Cas' and 'N Dur' outlined by one region, read 'N Dur' first),
    # after an unread spine that follows 'N Aba'
    outline = [Point(x=0.22, y=0.05), Point(x=0.30, y=0.05), Point(x=0.30, y=0.45), Point(x=0.22, y=0.45)]
    later, earlier = (candidate.model_copy(update={"polygon": outline}) for candidate in (_sure(3, 2), _sure(2, 2)))
    outcome = identify_books([_sure(0, 0), _unread(1), later, earlier, _sure(4, 3), _sure(5, 4)], catalog)
    # Then the region's two books are not taken for a book out of order, and the unread spine is the one between
    assert _named(outcome)[1] == "La casa del riu"


def test_a_book_named_less_than_surely_whose_sticker_shows_its_call_number_places_its_neighbour(catalog):
    # Given an unread spine between 'N Cas' and the row's last spine, whose title is lost but whose sticker reads
    # 'N Esp'
    label_only = _spine("Q. N Esp", 4)
    outcome = identify_books([_sure(0, 0), _sure(1, 1), _sure(2, 2), _unread(3), label_only], catalog)
    books = {item.candidate_index: item for item in outcome.identified}
    assert books[4].confidence < SHELF_SURE
    # Then the sticker says where that book files, and the unread spine is the one book filed before it
    assert _named(outcome)[3] == "El far apagat"


def test_a_spine_before_a_rows_first_sure_book_is_a_book_filed_before_it():
    # Given two novels called 'Futbol', one filed before 'N Gar' and one after the whole row, and a spine reading
    # only 'FUTBOL' first on the row (cut by the photo's edge), named from a lower bar than the default
    library = small_library([("Futbol", "Vidal, Pau", "N Vid"), *_BOOKS])
    row = [_spine("FUTBOL", 0), _sure(6, 1), _sure(7, 2), _sure(9, 3)]
    alone = identify_books([candidate_from_text("FUTBOL")], library, min_posterior=0.3)
    outcome = identify_books(row, library, min_posterior=0.3)
    # Then alone it is either; first on this row it is the one filed before the row's books
    assert alone.identified == []
    named = {item.candidate_index: item.book for item in outcome.identified}
    assert named[0].tag == "N Fer"
