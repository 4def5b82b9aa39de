"""The matcher: which catalog book each candidate is, for one spine or a whole photo, or 'unidentified'."""

from __future__ import annotations

from pathlib import Path

import pytest

from models import Book, BoundingBox, Unidentified
from tests.fakes.catalogs import small_library
from workers.bedrock.offline import candidate_from_text
from workers.catalog import matcher
from workers.catalog.base import CatalogBook, CatalogQuery
from workers.catalog.local import LocalCatalog
from workers.catalog.matcher import identify_books, score_candidate, to_result_books
from workers.catalog.statistics import WithoutStatistics

CATALOG_CSV = Path(__file__).resolve().parents[1] / "fixtures" / "quality_catalog.csv"


@pytest.fixture(scope="module")
def catalog() -> LocalCatalog:
    return LocalCatalog.from_csv(CATALOG_CSV)


def _identify(catalog, *texts: str):
    return identify_books([candidate_from_text(text) for text in texts], catalog)


def test_a_spine_with_title_author_and_call_number_is_identified_with_high_confidence(catalog):
    outcome = _identify(catalog, "Eckhart Tolle EL PODER DEL AHORA 155 Tol")
    [found] = outcome.identified
    assert found.book.title.startswith("El Poder del ahora")
    assert found.confidence >= 0.95


def test_a_garbled_spine_is_still_identified_when_its_signals_agree(catalog):
    # OCR dropped letters and accents, but the surname and the call number agree with the title words
    outcome = _identify(catalog, "Paul Krugman FUNDAMENTOS DE ECONOMA 330.1 Kru")
    assert [b.book.author for b in outcome.identified] == ["Krugman, Paul R."]


def test_series_words_on_the_spine_favour_the_volume_that_explains_every_word(catalog):
    # 'The Hunger games' is both a title and the series name; only 'Mockingjay' also explains 'mockingjay'
    ranked = score_candidate(candidate_from_text("THE HUNGER GAMES MOCKINGJAY JNE Col"), catalog)
    assert [s.book.title for s in ranked[:2]] == ["Mockingjay", "The Hunger games"]
    assert ranked[0].posterior > 2 * ranked[1].posterior


def test_a_call_number_that_contradicts_the_title_match_leaves_the_spine_unidentified(catalog):
    # The title words match a catalog book, but the label says another author's shelf
    outcome = _identify(catalog, "GRAMÀTICA CATALANA BÀSICA 433 Ros")
    assert outcome.identified == []
    assert "contradicts" in outcome.unidentified[0].reason


def test_an_author_with_several_books_and_no_title_is_not_guessed(catalog):
    outcome = _identify(catalog, "STEPHENIE MEYER JN Mey")
    assert outcome.identified == []
    assert outcome.unidentified[0].reason.startswith("too uncertain")


def test_text_that_matches_nothing_is_unidentified(catalog):
    outcome = _identify(catalog, "EXCLOS PRESTEC 10 GRAN ENCICLOPEDIA PLANETA")
    assert outcome.identified == []


def test_an_isbn_read_on_the_book_identifies_it_alone(catalog):
    outcome = _identify(catalog, "ISBN 978-84-4122-511-4")
    assert [b.book.title for b in outcome.identified] == ["Gramàtica catalana bàsica"]


def test_two_spines_never_share_a_single_copy(catalog):
    # Given the same book read twice on one photo (a spine split in two by the OCR) and one copy
    outcome = _identify(catalog, "Alan Parks Gener de Sang N Par", "GENER DE SANG Alan Parks")
    # Then only the likelier spine gets it; the other says why not
    assert len(outcome.identified) == 1
    assert "taken" in outcome.unidentified[0].reason


def test_two_copies_in_the_catalog_can_both_be_on_the_shelf(catalog):
    outcome = _identify(catalog, "HISTÒRIA DE CATALUNYA 9(46.71) His", "HISTÒRIA DE CATALUNYA 9(46.71) His")
    assert len(outcome.identified) == 2
    assert len({b.book.book_id for b in outcome.identified}) == 2


def test_each_identification_names_the_candidate_it_came_from(catalog):
    outcome = _identify(catalog, "zzqx", "Marc Pastor La mala dona N Pas")
    assert [(b.candidate_index, b.book.title) for b in outcome.identified] == [(1, "La Mala dona")]
    assert [u.candidate_index for u in outcome.unidentified] == [0]


def test_the_outcome_maps_to_result_books_and_unidentified_entries(catalog):
    box = BoundingBox(left=0.1, top=0.1, width=0.05, height=0.4)
    candidates = [
        candidate_from_text("Katherine Pancol Els ulls grocs dels cocodrils N Pan", box=box),
        candidate_from_text("zzqx wvyk"),
    ]
    books, missing = to_result_books(identify_books(candidates, catalog))
    assert [type(b) for b in books] == [Book] and [type(m) for m in missing] == [Unidentified]
    assert books[0].title == "Els Ulls grocs dels cocodrils" and books[0].tag == "N Pan"
    assert 0.0 < books[0].confidence <= 1.0 and books[0].box == box
    assert missing[0].text == "zzqx wvyk" and missing[0].reason


class _ListCatalog(WithoutStatistics):
    """A catalog with no word statistics, like a remote search API: returns everything it holds."""

    name = "list"
    calls = 0

    def __init__(self, books: list[CatalogBook]):
        self.books = books

    def search(self, query: CatalogQuery, *, limit: int = 10) -> list[CatalogBook]:
        return self.books[:limit]


def test_a_catalog_without_word_statistics_still_identifies_a_clear_match():
    catalog = _ListCatalog(
        [
            CatalogBook(book_id="1", title="La Plaça del Diamant", author="Rodoreda, Mercè", tag="N Rod"),
            CatalogBook(book_id="2", title="Mirall trencat", author="Rodoreda, Mercè", tag="N Rod"),
        ]
    )
    outcome = _identify(catalog, "MERCÈ RODOREDA LA PLAÇA DEL DIAMANT N Rod")
    assert [b.book.book_id for b in outcome.identified] == ["1"]


def test_forty_spines_of_one_photo_are_each_accounted_for(catalog):
    """How fast is a benchmark figure (`bench quality`: match_ms_per_spine), never a test's: a busy machine."""
    texts = ["Alan Parks Gener de Sang N Par", "Eckhart Tolle EL PODER DEL AHORA 155 Tol", "zzqx"] * 14
    outcome = _identify(catalog, *texts)
    # each spine is named or said to be unidentified; the catalog's one copy of each book is named once
    accounted = [item.candidate_index for item in outcome.identified if item.part == 0]
    accounted += [item.candidate_index for item in outcome.unidentified]
    assert sorted(accounted) == list(range(42))
    assert sorted(item.book.author for item in outcome.identified) == ["Parks, Alan", "Tolle, Eckhart"]


def test_ocr_slips_in_a_call_number_code_are_folded_away():
    from workers.catalog.matcher import canon_code, code_tokens

    assert canon_code("Pa1") == canon_code("Pal") and canon_code("1ng") == canon_code("Ing")
    # a code glued to its class, or printed before it, is still found
    assert canon_code("Pob") in code_tokens("Els pobles perduts 91(46.71)Pob")
    assert canon_code("Loz") in code_tokens("Irene Lozano Son molinos, no gigantes Loz 323.2")


def test_a_call_number_read_code_first_still_counts_for_its_book(catalog):
    # OCR often reads the label's lines in the wrong order: 'Kru 330.1' for '330.1 Kru'
    ranked = score_candidate(candidate_from_text("FUNDAMENTOS Kru 330.1"), catalog)
    assert ranked[0].book.author == "Krugman, Paul R." and ranked[0].evidence.tag >= 5


def test_the_author_name_in_a_title_is_not_counted_twice():
    # 'Nicolás Guillén : selección poética' must not win on the author's name read as title words too
    catalog = _ListCatalog(
        [
            CatalogBook(book_id="1", title="Nicolás Guillén : selección poética", author="Guillén, Nicolás",
                        tag="P 834B Gui"),
            CatalogBook(book_id="2", title="Summa poética", author="Guillén, Nicolás", tag="P 834B Gui"),
        ]
    )
    ranked = {s.book.book_id: s.evidence for s in score_candidate(candidate_from_text("NICOLÁS GUILLÉN P 834B Gui"),
                                                                   catalog)}
    assert ranked["1"].author == ranked["2"].author > 0
    assert ranked["1"].title <= 0


def test_another_volume_number_on_the_spine_counts_against_a_numbered_title():
    from workers.catalog.matcher import VOLUME_CONTRADICTS, Reading, default_weight, evidence

    book = CatalogBook(book_id="1", title="Conversaciones en inglés. 2 : nivel intermedio", author="Brown, Richard")
    same = evidence(Reading.of(candidate_from_text("CONVERSACIONES EN INGLÉS")), None, book, default_weight)
    other = evidence(Reading.of(candidate_from_text("CONVERSACIONES EN INGLÉS 3")), None, book, default_weight)
    assert other.title == pytest.approx(same.title - VOLUME_CONTRADICTS)


def test_real_words_a_book_does_not_hold_count_against_it(catalog):
    plain = score_candidate(candidate_from_text("Alan Parks Gener de sang"), catalog)[0]
    padded = score_candidate(candidate_from_text("Alan Parks Gener de sang catalunya economia"), catalog)[0]
    assert plain.book.title == padded.book.title and padded.evidence.foreign < plain.evidence.foreign == 0


def _small_catalog() -> LocalCatalog:
    """A few books that matter to a test among 200 filler books, so word and call-number statistics mean
    something (an invented syllable soup: no real titles)."""
    syllables = ["ka", "lo", "mi", "ru", "te", "sa", "no", "vi", "de", "po"]
    filler = [
        CatalogBook(
            book_id=f"f{i}",
            title=f"{syllables[i % 10]}{syllables[i // 10 % 10]}ran {syllables[i // 7 % 10]}{syllables[i % 9]}lis",
            author=f"{syllables[i % 7]}{syllables[i // 10 % 10]}rez, Ana",
            tag=f"{100 + i} {['Abc', 'Bcd', 'Cde', 'Def', 'Efg'][i % 5]}",
        )
        for i in range(200)
    ]
    return LocalCatalog(
        [
            CatalogBook(book_id="1", title="Blues para Lola", author="Pons, Marta", tag="784 Pon"),
            CatalogBook(book_id="2", title="Blues per Lola", author="Pons, Marta", tag="784 Pon"),
            CatalogBook(book_id="3", title="Historia del jazz", author="Zedda, Lia", tag="785.9 Zed"),
            CatalogBook(book_id="4", title="Estrellas lejanas", author="Ruiz, Ana", tag="52 Rui"),
            CatalogBook(book_id="5", title="Mares profundos", author="Soler, Pau", tag="551.46 Sol"),
            CatalogBook(book_id="6", title="Bosques del norte", author="Vidal, Joan", tag="581 Vid"),
            CatalogBook(book_id="7", title="Diccionari català-italià", author="Arqués, Rossend", tag="437(03) Arq"),
            CatalogBook(book_id="8", title="Diccionari italià-català", author="Arqués, Rossend", tag="437(03) Arq"),
            *filler,
        ]
    )


def test_function_words_tell_apart_editions_of_one_work_in_two_languages():
    # the Spanish and the Catalan edition share every content word read; 'para' says which one this is
    outcome = _identify(_small_catalog(), "MARTA PONS BLUES PARA LOLA 784 Pon")
    assert [b.book.book_id for b in outcome.identified] == ["1"]


def test_the_order_of_the_title_words_tells_apart_two_titles_made_of_the_same_words():
    # both dictionaries hold every word read; only the order says which direction this one is
    catalog = _small_catalog()
    first = _identify(catalog, "Diccionari Català-Italià 437(03) Arq").identified
    second = _identify(catalog, "Diccionari Italià-Català 437(03) Arq").identified
    assert [b.book.book_id for b in first] == ["7"] and [b.book.book_id for b in second] == ["8"]


def test_function_words_of_the_series_count_for_the_volume_that_holds_them():
    # 'The' on 'THE LONG ROAD HOME' belongs to the series, so it is evidence for the volume 'Home' too
    reading = matcher.Reading.of(candidate_from_text("THE LONG ROAD HOME"))

    def title_evidence(series: str) -> float:
        book = CatalogBook(book_id="1", title="Home", series=series)
        return matcher.evidence(reading, None, book, matcher.default_weight).title

    assert title_evidence("The long road") - title_evidence("Long road") == pytest.approx(matcher.FUNCTION_WORD_READ)


def test_a_particle_of_the_authors_name_read_with_the_name_is_not_a_word_of_one_of_their_titles():
    # 'del' on 'Rodolfo del Hoyo' is his name's: it says nothing for his one title that holds 'del' too
    reading = matcher.Reading.of(candidate_from_text("Rodolfo del Hoyo"))

    def title_evidence(title: str) -> float:
        book = CatalogBook(book_id="1", title=title, author="Hoyo, Rodolfo del")
        return matcher.evidence(reading, None, book, matcher.default_weight).title

    assert title_evidence("La Font del cedre") == title_evidence("Només vull ser jo mateix")


def test_a_spine_showing_only_a_unique_call_number_names_its_book():
    # no title word was read at all: the label alone is the evidence, and nothing on the spine says otherwise
    outcome = _identify(_small_catalog(), "785.9 Zed")
    assert [b.book.book_id for b in outcome.identified] == ["3"]


def test_unread_title_words_cost_more_when_the_spine_shows_real_words_the_book_lacks():
    assert matcher.missing_title_cost(20.0, other_words=0) == min(20.0, matcher.MISSING_TITLE_CAP)
    assert matcher.missing_title_cost(20.0, other_words=2) > matcher.missing_title_cost(20.0, other_words=0)
    # the same label under another book's title words: the title was legible, and it was not this book's
    outcome = _identify(_small_catalog(), "MARES PROFUNDOS BOSQUES 785.9 Zed")
    assert "3" not in [b.book.book_id for b in outcome.identified]


def test_not_in_the_catalog_is_charged_only_what_the_best_explaining_book_is():
    # two rivals each explain a different half of the spine: that is no evidence the book is in the catalog
    half = matcher.Evidence(title=5.0, author=0.0, tag=0.0, isbn=0.0, explained={"mares": 5.0})
    other_half = matcher.Evidence(title=5.0, author=0.0, tag=0.0, isbn=0.0, explained={"bosques": 5.0})
    charged, none_charge = matcher.with_competition([half, other_half])
    assert [ev.unexplained for ev in charged] == [-matcher.UNEXPLAINED_COST * 5.0] * 2
    assert none_charge == max(ev.unexplained for ev in charged)
    whole = matcher.Evidence(title=9.0, author=0.0, tag=0.0, isbn=0.0, explained={"mares": 5.0, "bosques": 5.0})
    _, none_charge = matcher.with_competition([half, whole])
    assert none_charge == 0.0


def test_a_label_read_code_first_is_not_held_against_its_book():
    # 'Mol 371.2': Moliner's label read in the other order. 'Mol' is her code, not a word she leaves
    # unexplained while a novelist called Mola explains it with her name.
    from workers.catalog.matcher import Reading, default_weight, evidence, with_competition

    mola = CatalogBook(book_id="1", title="La Bestia", author="Mola, Carmen", tag="N Mol")
    moliner = CatalogBook(book_id="2", title="La Tutoría entre iguales", author="Moliner Miravet, Lidón",
                          tag="371.2 Mol")
    candidate = candidate_from_text("Mol 371.2")
    reading = Reading.of(candidate)
    found = [evidence(reading, candidate.tag, book, default_weight) for book in (mola, moliner)]
    assert "mol" in found[0].explained and "mol" in found[1].explained  # her name for one, her label for the other
    (_, label), _ = with_competition(found)
    assert label.unexplained == 0


def test_a_spine_showing_a_whole_title_and_nothing_else_counts_for_more_than_part_of_a_longer_one():
    from workers.catalog.matcher import WHOLE_TITLE_READ, Reading, evidence

    def weigh(word: str) -> float:  # words the catalog uses weigh less than the unknown
        return 5.0 if word in {"belgrado", "serbia", "guia"} else 9.0

    city = CatalogBook(book_id="1", title="Belgrado", author="", tag="91(026)(497.1) Rom")
    region = CatalogBook(book_id="2", title="Belgrado y Serbia", author="", tag="91(026)(497.1) Bel")
    alone, beside = Reading.of(candidate_from_text("8 5 BELGRADO")), Reading.of(candidate_from_text("BELGRADO GUIA"))
    gain = evidence(alone, None, city, weigh).title - evidence(alone, None, region, weigh).title
    assert gain == pytest.approx(WHOLE_TITLE_READ) and gain > 0
    # a spine that also shows a real word the book lacks gets no such credit: its title was only part of it
    assert evidence(beside, None, city, weigh).title == pytest.approx(
        evidence(alone, None, city, weigh).title - WHOLE_TITLE_READ
    )


def test_the_authors_name_in_a_series_is_not_read_twice_as_the_series():
    # 'Biblioteca Amos Oz' names the author: 'AMOS OZ Fima' has read the author, not this volume's series
    reading = matcher.Reading.of(candidate_from_text("AMOS OZ Fima"))
    in_series = CatalogBook(book_id="1", title="Queridos fanáticos", author="Oz, Amós", series="Biblioteca Amos Oz")
    plain = CatalogBook(book_id="2", title="La caixa negra", author="Oz, Amós")
    assert matcher.evidence(reading, None, in_series, matcher.default_weight).total == pytest.approx(
        matcher.evidence(reading, None, plain, matcher.default_weight).total
    )


def test_a_spine_showing_only_a_shared_call_number_says_so():
    # 'Blues para Lola' and 'Blues per Lola' share '784 Pon': the label alone cannot tell them apart
    [missing] = _identify(_small_catalog(), "784 Pon").unidentified
    assert missing.reason.startswith("only its call number '784 Pon' was read, and several books carry it")
    assert "'Blues para Lola'" in missing.reason and "'Blues per Lola'" in missing.reason


def test_a_segment_holding_two_spines_names_both_books(catalog):
    # Given one candidate in which grouping joined two neighbouring spines
    outcome = _identify(catalog, "Katherine Pancol EL VALS LENTO DE LAS TORTUGAS N Pan ALAN PARKS GENER DE SANG N Par")
    # Then the book the text was read as comes first, and the one in the words it left unexplained follows
    assert [(i.part, i.book.title.strip()) for i in outcome.identified] == [
        (0, "El Vals lento de las tortugas"), (1, "Gener de sang")]
    assert {i.candidate_index for i in outcome.identified} == {0}
    assert outcome.identified[1].confidence >= matcher.FURTHER_BOOK_MIN_POSTERIOR
    books, missing = to_result_books(outcome)
    assert [b.title.strip() for b in books] == ["El Vals lento de las tortugas", "Gener de sang"]
    assert "TORTUGAS" not in books[1].evidence and "GENER DE SANG" in books[1].evidence and missing == []


def test_two_spines_of_one_author_joined_in_one_segment_name_both_books(catalog):
    # Given one candidate holding two neighbouring spines by one author, each printing the name, one sticker read
    outcome = _identify(catalog, "Katherine Pancol EL VALS LENTO DE LAS TORTUGAS "
                                 "Katherine Pancol ELS ULLS GROCS DELS COCODRILS N Pan")
    # Then the further book keeps its own printing of the author's name, and both are named
    assert sorted(i.book.title.strip() for i in outcome.identified) == [
        "El Vals lento de las tortugas", "Els Ulls grocs dels cocodrils"]
    [further] = [i for i in outcome.identified if i.part == 1]
    assert further.evidence.author > 0 and outcome.unidentified == []


def test_words_a_book_leaves_unexplained_that_name_no_book_add_nothing(catalog):
    outcome = _identify(catalog, "Eckhart Tolle EL PODER DEL AHORA 155 Tol EDITORIAL GAIA BOLSILLO")
    assert [(i.part, i.book.author) for i in outcome.identified] == [(0, "Tolle, Eckhart")]


def test_a_further_book_is_not_a_copy_another_spine_already_claimed(catalog):
    # 'Gener de sang' stands on its own spine, and its title also sits in a joined segment next to it
    outcome = _identify(catalog, "Alan Parks GENER DE SANG N Par",
                        "Katherine Pancol ELS ULLS GROCS DELS COCODRILS N Pan GENER DE SANG")
    assert sorted((i.candidate_index, i.part, i.book.title.strip()) for i in outcome.identified) == [
        (0, 0, "Gener de sang"), (1, 0, "Els Ulls grocs dels cocodrils")]


def test_words_a_named_book_leaves_unexplained_are_given_back_as_not_identified(catalog):
    # Given a spine read together with a word of its neighbour's that names no book by itself
    outcome = _identify(catalog, "Eckhart Tolle EL PODER DEL AHORA 155 Tol economia")
    # Then the book is named, and the left-over word is accounted for, not dropped
    assert [item.book.author for item in outcome.identified] == ["Tolle, Eckhart"]
    [left_over] = outcome.unidentified
    assert "economia" in left_over.candidate.text
    assert left_over.reason.startswith("words read beside 'El Poder del ahora")


def test_a_spine_with_nothing_read_is_reported_as_such_and_looked_up_nowhere():
    class CountingCatalog(LocalCatalog):
        searches = 0

        def search(self, query, *, limit=10):
            CountingCatalog.searches += 1
            return super().search(query, limit=limit)

    counting = CountingCatalog.from_csv(CATALOG_CSV)
    outcome = identify_books([matcher.Candidate(text="", box=BoundingBox(left=0.1, top=0.1, width=0.02, height=0.3))],
                             counting)
    assert CountingCatalog.searches == 0
    [unread] = outcome.unidentified
    assert unread.reason == matcher.UNREAD_SPINE


def test_a_childrens_call_number_read_with_a_one_for_its_i_is_that_call_number(catalog):
    # Given a children's shelf whose stickers read 'I59.51 Gra' as '159.51 Gra', and two spines joined in one
    # segment: Gravel's 'El Cuc' with its sticker, Algarra's 'Descobreix les aranyes' without one
    books = [("1", "El Cuc", "Gravel, Elise", "I59.51 Gra"), ("2", "El Poll", "Gravel, Elise", "I59.57 Gra"),
             ("3", "Descobreix les aranyes", "Algarra, Alejandro", "I59.52 Alg"),
             ("4", "Descobreix les formigues", "Algarra, Alejandro", "I59.57 Alg"),
             ("5", "Psicologia de la memòria", "Graus, Joan", "159.9 Gra")]
    shelf = LocalCatalog([*catalog.books, *(CatalogBook(f"children-{book_id}", title, author, tag=tag)
                                          for book_id, title, author, tag in books)])
    outcome = _identify(shelf, "El Cuc DESCOBREIX LES ARANYES Elise Gravel ALGARRA 159.51 Gra")
    # Then the sticker is El Cuc's, whole, and the rest of the segment is Algarra's book, not held to that sticker
    [first] = [i for i in outcome.identified if i.part == 0]
    assert first.book.title == "El Cuc" and first.evidence.tag > matcher.CODE_AGREES
    assert sorted(i.book.title for i in outcome.identified) == ["Descobreix les aranyes", "El Cuc"]


def test_a_title_the_library_holds_in_several_copies_is_likelier_than_a_namesake_it_holds_once():
    # Given a class set: three copies of 'Història de Catalunya', and once a namesake with a subtitle
    namesake = ("Història de Catalunya : per a joves", "", "I9(46.71) His")
    class_set = small_library([("Història de Catalunya", "", "I9(46.71) His")] * 3 + [namesake])
    one_each = small_library([("Història de Catalunya", "", "I9(46.71) His"), namesake])
    # When a spine shows the title and the call number they share (a spine seldom shows the subtitle)
    spine = candidate_from_text("HISTÒRIA DE CATALUNYA I9(46.71) His")
    # Then it is one of the three copies, likely enough to be named; held once each, the two stay a toss-up
    best = score_candidate(spine, class_set)[0]
    assert best.book.title == "Història de Catalunya" and best.posterior >= matcher.MIN_POSTERIOR
    assert score_candidate(spine, one_each)[0].posterior < matcher.MIN_POSTERIOR


def _puig_library() -> LocalCatalog:
    """Four children's books by one author under one call number, two titles of short words."""
    return small_library([("La Pau i en Pol", "Puig, Marta", "I** Pui"), ("Els Ossets de la platja", "Puig, Marta",
                          "I** Pui"), ("El Far del nord", "Puig, Marta", "I** Pui"), ("Un Cel de nit", "Puig, Marta",
                          "I** Pui")], filler=400)


def test_a_title_of_short_words_read_with_its_spaces_lost_names_its_book():
    # Given a spine whose tight display type OCR read without its spaces: 'LA PAUIENPOL'
    [found] = _identify(_puig_library(), "LA PAUIENPOL Marta Puig I** Pui").identified
    # Then the title is read in the run-together word, and no other book of the author's shelf is a rival
    assert found.book.title == "La Pau i en Pol" and found.confidence >= 0.9


def test_a_run_together_title_needs_its_whole_phrase_from_one_spine_word_boundary_to_another():
    # 'aupauienpo' holds the title's letters, but not from the start of one spine word to the end of another
    ranked = score_candidate(candidate_from_text("AUPAUIENPOL Marta Puig I** Pui"), _puig_library())
    assert all(s.evidence.title <= 0 for s in ranked)


def test_a_segment_of_two_spines_names_the_second_whose_title_was_run_together():
    # Given one candidate holding two spines of one author: a title read word by word, then one read without
    # its spaces, the sticker read once
    outcome = _identify(_puig_library(), "Els Ossets de la platja LA PAUIENPOL M. Puig PUIG I** Pui")
    # Then both are named: the first title's function words ('Els', 'de la') are not read into the rest
    assert [(i.part, i.book.title) for i in outcome.identified] == [(0, "Els Ossets de la platja"),
                                                                     (1, "La Pau i en Pol")]
    assert "Els" not in outcome.identified[1].candidate.text.split()


def test_a_title_of_function_words_before_the_label_stays_in_the_rest_of_a_segment():
    # Given a segment of two spines whose second title is all function words ('La por'), read before its label
    library = small_library([("La por", "Roca, Pere", "N Roc"), ("Criatures del bosc", "Rocamora, Anna", "N Roc")],
                            filler=400)
    outcome = _identify(library, "PERE ROCA LA POR N Roc Anna Rocamora Criatures del bosc N Roc")
    # Then the words that lead into the label, not into a title word, are the other book's
    assert sorted(i.book.title for i in outcome.identified) == ["Criatures del bosc", "La por"]


def _photography_library() -> LocalCatalog:
    return small_library([("Fotografía de viaje : la guía para conseguir las mejores imágenes", "L'Anson, Richard",
                           "77 Ans"), ("Fotografía de moda", "Mas, Joan", "77 Mas"),
                          ("Fotografía de paisaje", "Roig, Pere", "77 Roi"),
                          ("Reportajes de la historia", "Riquer, Martí de", "9(100) Rep"),
                          ("Cuentos de la historia", "Pla, Anna", "9(100) Pla")], filler=400)


def test_a_title_word_cut_short_right_after_the_word_before_it_names_the_book():
    # Given a spine whose last title word the spine's edge cut short: 'FOTOGRAFÍA DE VIA' (viaje)
    [found] = _identify(_photography_library(), "FOTOGRAFÍA DE VIA").identified
    # Then the head of the word, read right after 'de', tells the book from its rivals 'de moda' and 'de paisaje'
    assert found.book.title.startswith("Fotografía de viaje")


def test_a_title_word_whose_head_is_hidden_is_read_from_its_tail_before_the_next_word():
    # Given a spine whose first title word a bookend hides but for its tail: 'TAJES DE LA HISTORIA' (reportajes)
    [found] = _identify(_photography_library(), "TAJES DE LA HISTORIA").identified
    assert found.book.title == "Reportajes de la historia"


def test_a_few_letters_count_as_a_cut_word_only_beside_the_title_word_next_to_it():
    phrase = ("fotografia", "de", "viaje")
    assert matcher.Reading.of(candidate_from_text("FOTOGRAFÍA DE VIA")).cut_short(phrase) == {"viaje": "via"}
    # the same letters elsewhere on the spine begin many words, and say nothing
    assert matcher.Reading.of(candidate_from_text("VIA FOTOGRAFÍA DE")).cut_short(phrase) == {}
    assert matcher.Reading.of(candidate_from_text("FOTOGRAFÍA DE VI")).cut_short(phrase) == {}


def test_a_forename_read_as_a_label_code_beside_its_surname_does_not_count_against_the_book():
    # Given a spine printing 'Guy Kawasaki' after digits, which read like a call number 'I 8 99 Guy'
    library = small_library([("El Arte de empezar 2.0", "Kawasaki, Guy", "658.1 Kaw"),
                             ("El Arte de la guerra", "Sunzi", "355 Sun")], filler=400)
    [found] = _identify(library, "EL ARTE DE EMPEZA I 8 99 Guy Kawasaki").identified
    # Then the forename is the author's name, not a label disagreeing with the book's '658.1 Kaw'
    assert found.book.title == "El Arte de empezar 2.0" and found.confidence >= 0.9


def test_a_label_code_that_is_some_authors_forename_still_counts_against_that_authors_books():
    # Given a real label '784 Deu' (Deulonder), and an author whose forenames hold 'Déu' but who is not printed here
    library = small_library([("Cremat de rom", "Deulonder, Xavier", "784 Deu"),
                             ("Fricandó", "Prats, Joan de Déu", "I** Pra")], filler=400)
    ranked = score_candidate(candidate_from_text("LESCANCONS 784 Deu"), library)
    by_title = {s.book.title: s for s in ranked}
    assert ranked[0].book.title == "Cremat de rom"
    assert by_title["Fricandó"].evidence.tag < 0


def test_a_title_run_together_is_read_without_the_article_it_starts_with():
    # Given a spine on which OCR ran 'Lie tree' together and did not read the article: 'LIETREE'
    library = small_library([("The Lie tree", "Hardinge, Frances", "JNE Har"),
                             ("A Skinful of shadows", "Hardinge, Frances", "JNE Har"),
                             ("Kitty and the moonlight rescue", "Harrison, Paula", "JNE Har")], filler=400)
    ranked = score_candidate(candidate_from_text("LIETREE JNE Har"), library)
    # Then the title is read in it, and its book leads the author's shelf
    assert ranked[0].book.title == "The Lie tree" and ranked[0].evidence.title > 0


def test_a_run_of_title_words_read_with_their_spaces_lost_counts_though_the_spine_shows_no_more_of_the_title():
    # Given a spine reading 'LAPORTA DELSTRES': four of the title's five words run together, the last not read
    library = small_library([("La Porta dels tres panys", "Fernández-Vidal, Sònia", "JN Fer"),
                             ("Cuinar és una festa!", "Laporte, Amanda", "I641 Lap"),
                             ("La Primera porta", "Nel·lo, David", "I*** Nel")], filler=400)
    ranked = score_candidate(candidate_from_text("LAPORTA DELSTRES NF"), library)
    # Then the run is read as those words of its title, and its book leads the author who is only near 'Laporta'
    assert ranked[0].book.title == "La Porta dels tres panys"
    assert ranked[0].posterior > 5 * ranked[1].posterior
    runs = matcher.Reading.of(candidate_from_text("LAPORTA DELSTRES NF")).run_together(
        ("la", "porta", "dels", "tres", "panys"))
    assert runs.words == {"la": "laporta", "porta": "laporta", "dels": "delstres", "tres": "delstres"}
    assert runs.spine_words == ("laporta", "delstres")


def test_a_collection_mark_read_with_its_letters_swapped_does_not_count_against_its_book():
    # Given two editions of one novel, Italian ('NI Che') and Catalan ('N Che'), and a spine whose label OCR read
    # with the mark's letters in another order: 'IN Che'
    library = small_library([("L'Innocenza", "Chevalier, Tracy", "NI Che"),
                             ("El Mestre de la innocència", "Chevalier, Tracy", "N Che")], filler=400)
    [found] = _identify(library, "L'Innocenza Tracy Chevalier IN Che").identified
    # Then the title read whole names the Italian edition, as the label no longer speaks against it
    assert found.book.title == "L'Innocenza"


def _peter_pan_copies() -> LocalCatalog:
    return small_library([("Peter Pan", "Barrie, J. M.", "I** Bar"), ("Peter Pan", "Barrie, J. M.", "I*** Bar"),
                          ("Peter Pan", "Barrie, J. M.", "NE Bar"), ("Kim", "Kipling, Rudyard", "NE Kip")])


def test_of_the_copies_of_one_work_a_spine_names_the_one_whose_call_number_its_sticker_shows():
    # three copies of one work share its posterior; the sticker says which of them stands here
    outcome = _identify(_peter_pan_copies(), "Peter Pan NE Bar")
    assert [item.book.tag for item in outcome.identified] == ["NE Bar"]


def test_an_authors_name_read_apart_beside_their_named_book_is_not_a_second_copy():
    # 'J.M. Barrie' read on its own line beside the spine already named 'Peter Pan' is that spine's name line
    outcome = _identify(_peter_pan_copies(), "Peter Pan NE Bar", "J.M. Barrie")
    assert [item.candidate_index for item in outcome.identified] == [0]
    # a second copy showing its own title is still named
    both = _identify(_peter_pan_copies(), "Peter Pan NE Bar", "PETER PAN Barrie")
    assert [item.book.title for item in both.identified] == ["Peter Pan", "Peter Pan"]
