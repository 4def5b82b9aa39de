"""The shelf as context: books named for sure on a photo inform the spines that are not sure on their own."""

from __future__ import annotations

import pytest

from tests.fakes.catalogs import small_library
from workers.bedrock.offline import candidate_from_text
from workers.catalog.local import LocalCatalog
from workers.catalog.matcher import (
    SHELF_MIN_BOOKS,
    SHELF_SURE,
    class_top,
    identify_books,
    score_candidate,
    to_result_books,
)

_BOOKS = [
    ("Una madre", "Palomas, Alejandro", "N Pal"),
    ("Un país con tu nombre", "Palomas, Alejandro", "N Pal"),
    ("Agua cerrada", "Palomas, Alejandro", "N Pal"),
    ("Snuff", "Palahniuk, Chuck", "N Pal"),
    ("Fills del febrer", "Parks, Alan", "N Par"),
    ("Gener de sang", "Parks, Alan", "N Par"),
    ("Escritos corsarios", "Pasolini, Pier Paolo", "N 837 Pas"),
    ("Fútbol : la historia de un deporte", "Martín, Ramón", "796.332 Mar"),
    ("Tàctica del futbol modern", "Puig, Anna", "796.332 Pui"),
    ("Navarra", "Domench, José María", "91(026)(46.51) Dom"),
    ("Navarra : mapa de carreteras", "Domench, José María", "91(026)(46.51) Dom"),
]


@pytest.fixture(scope="module")
def catalog() -> LocalCatalog:
    return small_library(_BOOKS)


def _identify(catalog, *texts: str, shelf: bool = True):
    return identify_books([candidate_from_text(text) for text in texts], catalog, shelf=shelf)


SURE_SPINES = (
    "ALEJANDRO PALOMAS Una madre N Pal",
    "ALEJANDRO PALOMAS Un país con tu nombre N Pal",
    "PALAHNIUK Snuff N Pal",
    "Alan Parks Fills del febrer N Par",
)


def test_a_spine_showing_only_a_shared_call_number_names_the_one_book_the_shelf_has_not_shown(catalog):
    # Given a shelf where three of the four books labelled 'N Pal' are named, and a spine showing only 'N Pal'
    alone = _identify(catalog, "N Pal")
    outcome = _identify(catalog, *SURE_SPINES, "N Pal")
    # Then alone it names nothing, and on the shelf it names the fourth, saying the shelf spoke
    assert alone.identified == []
    named = {item.candidate_index: item for item in outcome.identified}
    assert named[4].book.title == "Agua cerrada"
    books, _ = to_result_books(outcome)
    assert books[4].signals == ["call_number", "shelf"]
    assert "shelf" not in books[0].signals


def test_without_enough_sure_books_there_is_no_shelf_and_no_prior(catalog):
    # Given a home shelf: two books, no third, then a label-only spine
    outcome = _identify(catalog, *SURE_SPINES[:2], "N Pal")
    # Then the label-only spine stays unidentified, as it would alone
    assert [item.candidate_index for item in outcome.identified] == [0, 1]
    assert "several books carry it" in outcome.unidentified[0].reason


def test_a_book_of_a_class_far_from_the_shelfs_needs_more_evidence(catalog):
    # Given a fiction shelf and a spine whose few words fit a sports book, without its call number
    weak = "futbol historia"
    alone = score_candidate(candidate_from_text(weak), catalog)[0]
    on_shelf = _identify(catalog, *SURE_SPINES, weak)
    # Then on the shelf that book is named with less confidence than alone, or not at all
    named = {item.candidate_index: item.confidence for item in on_shelf.identified}
    assert alone.book.tag == "796.332 Mar"
    assert named.get(4, 0.0) < alone.posterior


def test_the_far_class_cost_spares_a_book_whose_call_number_the_spine_shows(catalog):
    # Given the same sports book with its label read on a fiction shelf
    outcome = _identify(catalog, *SURE_SPINES, "Fútbol historia 796.332 Mar")
    alone = _identify(catalog, "Fútbol historia 796.332 Mar")
    # Then the shelf changes nothing: the label is evidence the book stands here (misfiled, but here)
    assert outcome.identified[-1].confidence == alone.identified[0].confidence


def test_a_home_shelfs_books_say_nothing_of_the_class_of_the_rest(catalog):
    # Given the same fiction books named for sure, read without their stickers (a home shelf), and the sports book's
    # few words
    weak = "futbol historia"
    home = [spine.rsplit(" N ", 1)[0] for spine in SURE_SPINES]
    alone = score_candidate(candidate_from_text(weak), catalog)[0]
    on_shelf = _identify(catalog, *home, weak)
    # Then the shelf gives no prior: a home shelf holds books of any class side by side
    named = {item.candidate_index: item.confidence for item in on_shelf.identified}
    assert sum(named.get(index, 0.0) >= SHELF_SURE for index in range(4)) >= SHELF_MIN_BOOKS
    assert named.get(4, 0.0) == pytest.approx(alone.posterior, abs=1e-3)


@pytest.mark.parametrize(("tag", "top"), [("N Pal", "n"), ("N 837 Pas", "n"), ("796.332 Tom", "7"),
                                          ("JN Gar", "jn"), ("91(46.71) Pob", "9")])
def test_the_top_of_a_class_is_its_collection_letters_or_first_digit(tag, top):
    assert class_top(tag) == top



def test_two_spines_torn_between_the_same_two_works_name_both(catalog):
    # Given two spines that each read only 'Navarra', its author and label: two works fit either equally
    torn = ("NAVARRA José María Domench Dom", "Navarra José María Domench Dom")
    one = _identify(catalog, torn[0])
    both = _identify(catalog, *torn)
    # Then one alone names neither, and the two together hold both works (one copy is one spine)
    assert one.identified == []
    assert sorted(item.book.title for item in both.identified) == ["Navarra", "Navarra : mapa de carreteras"]
    assert all(item.confidence >= 0.5 and item.shelf for item in both.identified)


def test_spines_torn_between_works_are_left_alone_without_the_set(catalog):
    torn = ("NAVARRA José María Domench Dom", "Navarra José María Domench Dom")
    assert _identify(catalog, *torn, shelf=False).identified == []
