"""LocalCatalog: a library's CSV inventory searched through SQLite FTS5 and re-ranked with rapidfuzz."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from workers.catalog.base import CatalogBook, CatalogQuery
from workers.catalog.local import CatalogFormatError, LocalCatalog, check_catalog_csv, read_books

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CATALOG_CSV = FIXTURES / "quality_catalog.csv"


@pytest.fixture(scope="module")
def catalog() -> LocalCatalog:
    return LocalCatalog.from_csv(CATALOG_CSV)


def test_fields_holding_commas_and_line_breaks_are_read_whole(tmp_path: Path):
    # Given a catalog whose title holds a comma and a line break
    path = tmp_path / "books.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "author", "tag", "series", "isbn"])
        writer.writerow(["Guerra, pau\ni memòria", "Puig, Anna", "9(46) Pui", "", "978-84-16863-48-8"])
    # When it is read
    [book] = read_books(path)
    # Then the title is one field with its whitespace folded, and the ISBN is bare digits
    assert book.title == "Guerra, pau i memòria"
    assert book.author == "Puig, Anna"
    assert book.isbn == "9788416863488"


def test_a_column_map_reads_catalogs_with_other_column_names(tmp_path: Path):
    # Given a CSV whose columns are named in Catalan
    path = tmp_path / "fons.csv"
    path.write_text("titol,autor,signatura,isbn13\nLa Plaça del Diamant,\"Rodoreda, Mercè\",N Rod,\n", "utf-8")
    # When it is loaded with a column map
    catalog = LocalCatalog.from_csv(path, {"title": "titol", "author": "autor", "tag": "signatura", "isbn": "isbn13"})
    # Then the fields land where the matcher expects them
    [book] = catalog.search(CatalogQuery(text="placa del diamant"))
    assert (book.title, book.author, book.tag) == ("La Plaça del Diamant", "Rodoreda, Mercè", "N Rod")


def test_a_catalog_without_its_title_column_is_refused_with_the_columns_it_has(tmp_path: Path):
    # Given a CSV whose title column is called something the settings do not map
    path = tmp_path / "fons.csv"
    path.write_text("Titol,Autor\nLa Plaça del Diamant,\"Rodoreda, Mercè\"\n", "utf-8")
    # When it is read, Then the error names the missing column and the ones found, instead of a catalog of
    # untitled books that would leave every spine unidentified
    with pytest.raises(CatalogFormatError, match=r"'title'.*Titol, Autor"):
        read_books(path)
    with pytest.raises(CatalogFormatError):
        check_catalog_csv(path)
    # And mapped, it reads
    assert [b.title for b in read_books(path, {"title": "Titol"})] == ["La Plaça del Diamant"]


def test_a_column_the_map_names_must_exist_but_unmapped_optional_columns_may_be_absent(tmp_path: Path):
    path = tmp_path / "titles.csv"
    path.write_text("title\nNada\n", "utf-8")
    [book] = read_books(path)
    assert (book.title, book.author, book.tag) == ("Nada", "", "")
    with pytest.raises(CatalogFormatError, match="'autor'"):
        read_books(path, {"author": "autor"})


def test_an_empty_catalog_file_is_refused(tmp_path: Path):
    path = tmp_path / "empty.csv"
    path.write_text("", "utf-8")
    with pytest.raises(CatalogFormatError, match="empty"):
        check_catalog_csv(path)


def test_search_finds_a_book_from_spine_text_without_accents(catalog: LocalCatalog):
    # When the spine text is in capitals and without accents
    found = catalog.search(CatalogQuery(text="PAUL KRUGMAN FUNDAMENTOS DE ECONOMIA 330.1 Kru"), limit=3)
    # Then the book is the first hit
    assert found[0].title.startswith("Fundamentos de economía")


def test_search_puts_an_exact_isbn_first(catalog: LocalCatalog):
    found = catalog.search(CatalogQuery(text="catalunya", isbn="978-84-412-0002-8"), limit=5)
    assert found[0].isbn == "9788441200028"


def test_search_returns_nothing_for_text_no_book_shares(catalog: LocalCatalog):
    assert catalog.search(CatalogQuery(text="zzqx wvyk")) == []


def test_repeated_lookups_are_answered_from_the_cache(catalog: LocalCatalog):
    query = CatalogQuery(text="Alan Parks Gener de sang")
    first = catalog.search(query)
    assert catalog.search(query) == first
    assert catalog._search_cached.cache_info().hits >= 1


def test_rare_words_weigh_more_than_common_ones(catalog: LocalCatalog):
    assert catalog.idf("quebradita") > catalog.idf("catalunya") > 0


def test_a_catalog_of_fifteen_thousand_books_is_indexed_whole_and_searchable(tmp_path: Path):
    """How fast is a benchmark figure (`bench quality`: catalog_build_seconds), never a test's: a busy machine."""
    # Given a catalog the size of a public library branch
    path = tmp_path / "big.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "author", "tag", "series", "isbn"])
        for n in range(15_000):
            writer.writerow([f"Llibre {n} de la col·lecció {n % 97}", f"Autor{n % 503}, Nom", f"N Au{n % 7}", "", ""])
    # When it is loaded
    catalog = LocalCatalog.from_csv(path)
    # Then every book is in it and searchable
    assert len(catalog) == 15_000
    assert catalog.search(CatalogQuery(text="llibre 1234"), limit=1)[0].title.startswith("Llibre 1234 ")


def test_search_finds_a_book_from_its_call_number_alone(catalog: LocalCatalog):
    # A worn spine shows only its label, read code first and with an OCR slip in the code
    found = catalog.search(CatalogQuery(text="Kru 330.1"), limit=3)
    assert found[0].author == "Krugman, Paul R."


def test_rare_call_numbers_weigh_more_than_shared_ones(catalog: LocalCatalog):
    shared = [b.tag for b in catalog.books]
    common = max(set(shared), key=shared.count)
    rare = min(set(shared), key=shared.count)
    assert catalog.tag_idf(rare) >= catalog.tag_idf(common) > 0


def test_a_misread_rare_name_still_finds_its_book_among_many_sharing_the_common_name():
    # Given many books by authors named González, and one by González Zúñiga, whose spine OCR read 'Zúfiga'
    books = [CatalogBook(book_id=str(i), title=f"Obra {i}", author=f"González, Autor{i}", tag=f"{100 + i} Gon")
             for i in range(120)]
    books.append(CatalogBook(book_id="z", title="Introducción a la ingeniería industrial : contexto occidental",
                             author="González Zúñiga, José F.", tag="62 Gon"))
    library = LocalCatalog(books)
    # When the spine's text is searched
    found = library.search(CatalogQuery(text="González Zúfiga"), limit=10)
    # Then the catalog word nearest the misread one is searched too
    assert found[0].book_id == "z"


def test_an_unknown_short_word_is_not_searched_as_its_near_catalog_words(catalog):
    assert catalog._near_words("zufa") == ()
