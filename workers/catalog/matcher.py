"""Decide which catalog book each candidate is, for one spine or a whole photo, or say we don't know.

Each (candidate, book) pair is scored from independent signals read on the spine: the title's words, the
author's surname, the call number (class + first letters of the surname) and ISBN digits. A signal
that is present but disagrees counts against; signals that agree multiply the evidence. The photo is then
resolved as one assignment so two spines never claim the same copy.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache

from rapidfuzz import fuzz, process

from models import Book, Candidate, Unidentified
from workers.catalog.base import Catalog, CatalogBook, CatalogQuery
from workers.common.groups import DisjointSets
from workers.common.quarter_turn import Turn

_STOPWORD_TEXT = """a al als amb an and as at d de del dels des di du e el els en et for from i in l la las le les
lo los o of on per por que s the to un una uno y con para sus su se na no n"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
SEARCH_LIMIT = 20
FUZZY_CUTOFF = 80.0

_WORD = re.compile(r"[^\W_]+")
_ISBN_CHARS = re.compile(r"[^0-9Xx]")
_YEARS = re.compile(r"\d{3,4}-?(\d{3,4})?")


# --- text ------------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def normalise(text: str) -> str:
    """Lower case, no accents, words separated by single spaces: how OCR text and catalog text compare."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_WORD.findall(plain))


def tokens(text: str) -> list[str]:
    return normalise(text).split()


def isbn_digits(text: str) -> str:
    """ISBN-10 or ISBN-13 digits of a string, or '' when it does not hold one."""
    digits = _ISBN_CHARS.sub("", text).upper()
    return digits if len(digits) in (10, 13) else ""


_CODE_LIKE = re.compile(r"(?<![^\W\d_])([A-ZÀ-Ý1][a-zà-ÿ01]{2})(?![^\W\d_])")
_CODE_CHUNK = re.compile(r"[a-z1][a-z01]{0,2}")
_OCR_CODE = str.maketrans({"1": "l", "i": "l", "j": "l", "0": "o", "5": "s", "8": "b", "q": "g", "y": "v"})


@lru_cache(maxsize=65536)
def canon_code(code: str) -> str:
    """A call-number code with the letters OCR confuses folded together: 'Pa1' and 'Pal', '1ng' and 'Ing'."""
    return "".join(tokens(code)).translate(_OCR_CODE)


def code_tokens(text: str) -> frozenset[str]:
    """Words written like a call-number code ('Pal', 'Pa1', or glued as in '91(46.71)Pob'), folded."""
    return frozenset(canon_code(code) for code in _CODE_LIKE.findall(text))


def tag_chunks(tag: str) -> list[str]:
    """A call number as whitespace-separated chunks with punctuation dropped: '325.1(46) Paj' -> 325146, paj."""
    return [chunk for chunk in ("".join(tokens(part)) for part in tag.split()) if chunk]


# --- what a book offers to be recognised by ------------------------------------------------------


@dataclass(frozen=True)
class BookProfile:
    title: tuple[str, ...]
    main_title: tuple[str, ...]
    surnames: tuple[str, ...]
    forenames: tuple[str, ...]
    tag_class: tuple[str, ...]
    tag_code: str
    series: tuple[str, ...]
    isbn: str
    work: tuple[str, str]
    tag: str = ""
    function_words: tuple[str, ...] = ()
    title_pairs: frozenset[tuple[str, str]] = frozenset()
    main_phrase: tuple[str, ...] = ()
    """Every word of the main title in order, function words too: what a spine printing it shows."""


def _content(words: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(w for w in words if w not in STOPWORDS and (len(w) >= 2 or w.isdigit())))


@lru_cache(maxsize=65536)
def profile(book: CatalogBook) -> BookProfile:
    main = book.title.split(" : ")[0]
    surname, _, forename = _YEARS.sub("", book.author).partition(",")
    chunks = tag_chunks(book.tag)
    code = chunks[-1] if chunks and chunks[-1].isalpha() else ""
    names = {*tokens(surname), *tokens(forename)}
    return BookProfile(
        title=_content(tokens(book.title)),
        main_title=_content(tokens(main)),
        surnames=_content(tokens(surname)),
        forenames=_content(tokens(forename)),
        tag_class=tuple(chunks[:-1] if code else chunks),
        tag_code=code,
        series=tuple(w for w in _content(tokens(book.series)) if not w.isdigit()),
        isbn=isbn_digits(book.isbn),
        work=(normalise(book.title), normalise(book.author)),
        tag=book.tag,
        function_words=tuple(
            # a particle of the author's name ('del' of 'Hoyo, Rodolfo del') is read with the name, not the title
            dict.fromkeys(w for w in tokens(f"{main} {book.series}")
                          if w in STOPWORDS and len(w) >= 3 and w not in names)
        ),
        title_pairs=_word_pairs(main, names) | _word_pairs(book.series, names),
        main_phrase=tuple(tokens(main)),
    )


def _word_pairs(text: str, names: set[str]) -> frozenset[tuple[str, str]]:
    """Consecutive content words of a title or series, leaving out the author's name (read as the author's
    already) and numbers."""
    return frozenset(itertools.pairwise(w for w in _content(tokens(text)) if w not in names and not w.isdigit()))


# --- what a candidate's text offers --------------------------------------------------------------


@dataclass(frozen=True)
class RunTogether:
    """What `Reading.run_together` found: each phrase word read in a run (-> the spine word where it starts),
    and every spine word the runs span, all of them explained by the phrase."""

    words: dict[str, str]
    spine_words: tuple[str, ...]

    def with_run(self, run: Sequence[str], span: tuple[int, int], reading: Reading) -> RunTogether:
        starts = list(itertools.accumulate((len(w) for w in reading.sequence[span[0]:span[1] + 1]), initial=0))
        words, offset = dict(self.words), 0
        for word in run:
            holder = span[0] + bisect.bisect_right(starts, offset) - 1
            words.setdefault(word, reading.sequence[holder])
            offset += len(word)
        return RunTogether(words, (*self.spine_words, *reading.sequence[span[0]:span[1] + 1]))


@dataclass(frozen=True)
class Reading:
    """The candidate's text prepared once for comparison against many books."""

    words: frozenset[str]
    word_list: tuple[str, ...]
    compact: str
    chunks: frozenset[str]
    digits: frozenset[str]
    codes: frozenset[str] = frozenset()
    numbers: frozenset[str] = frozenset()
    starts: frozenset[int] = frozenset()
    pairs: frozenset[tuple[str, str]] = frozenset()
    sequence: tuple[str, ...] = ()
    adjacent: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def of(cls, candidate: Candidate) -> Reading:
        text = " ".join(filter(None, (candidate.text, candidate.tag, candidate.isbn)))
        words = tokens(text)
        digits = {isbn_digits(part) for part in re.split(r"[^\dXx-]+", text)} - {""}
        return cls(
            words=frozenset(words),
            word_list=tuple(dict.fromkeys(words)),
            compact="".join(words),
            chunks=frozenset(tag_chunks(text)),
            digits=frozenset(digits),
            codes=code_tokens(text),
            numbers=frozenset(w for w in words if w.isdigit() and len(w) <= 2),
            starts=frozenset(itertools.accumulate((len(w) for w in words[:-1]), initial=0)),
            pairs=frozenset(itertools.pairwise(_content(words))),
            sequence=tuple(words),
            adjacent=frozenset(itertools.pairwise(words)),
        )

    def shows_class(self, book_class: str) -> bool:
        """Whether a compacted class number ('3232', 'n841') is printed on the spine, spaced or not."""
        if not book_class:
            return False
        if book_class in self.chunks:
            return True
        if len(book_class) < 3 or not any(ch.isdigit() for ch in book_class):
            return False
        pattern = rf"(?={re.escape(book_class)}(?!\d))"
        return any(m.start() in self.starts for m in re.finditer(pattern, self.compact))

    def match(self, word: str) -> tuple[float, str]:
        """How well a catalog word was read (1.0 exact, partial credit for an OCR-garbled or
        run-together reading) and which spine word read it."""
        if word in self.words:
            return 1.0, word
        if len(word) < 4:
            return 0.0, ""
        if len(word) >= 5 and word in self.compact:
            return GLUED_HIT, word
        best = process.extractOne(word, self.word_list, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        return (best[1] / 100.0, best[0]) if best else (0.0, "")

    def has(self, word: str) -> float:
        return self.match(word)[0]

    def run_together(self, phrase: Sequence[str]) -> RunTogether:
        """The runs of a phrase's words that the spine shows with the spaces between some of them lost ('LA
        SOLIENPOL' for 'la sol i en pol'; 'LAPORTA DELSTRES' for 'la porta dels tres' of 'La porta dels tres
        panys'), each from the start of one spine word to the end of another. Display type set tight loses its
        spaces to OCR, and short words then are not read one by one; a word the run leaves out (a small article,
        a word the edge cut) does not hide the rest."""
        runs = RunTogether({}, ())
        first = 0
        while first < len(phrase) - 1:
            if phrase[first] + phrase[first + 1] not in self.compact:  # every run from here starts so
                first += 1
                continue
            found = next(((last, span) for last in range(len(phrase), first + 1, -1)
                          if len(glued := "".join(phrase[first:last])) >= GLUED_PHRASE_MIN
                          and (span := self._span_holding(glued, last - first)) is not None), None)
            if found is None:
                first += 1
                continue
            last, span = found
            runs = runs.with_run(phrase[first:last], span, self)
            first = last
        return runs

    def _span_holding(self, glued: str, words: int) -> tuple[int, int] | None:
        """(first, last) spine word whose letters are exactly `glued`, when they are fewer than its `words`."""
        at = self.compact.find(glued)
        while at >= 0:
            if at in self._word_at_start and at + len(glued) in self._word_at_end:
                span = self._word_at_start[at], self._word_at_end[at + len(glued)]
                if span[1] - span[0] + 1 < words:
                    return span
            at = self.compact.find(glued, at + 1)
        return None

    @cached_property
    def _word_at_start(self) -> dict[int, int]:
        return {offset: index for index, offset in enumerate(itertools.accumulate((len(w) for w in self.sequence[:-1]),
                                                                                  initial=0))}

    @cached_property
    def _word_at_end(self) -> dict[int, int]:
        return {offset: index for index, offset in enumerate(itertools.accumulate(len(w) for w in self.sequence))}

    def cut_short(self, phrase: Sequence[str]) -> dict[str, str]:
        """Words of a phrase the spine shows cut short by its edge or by something standing in front of it, and
        the spine word that shows each: the head of the word right after the phrase's word before it ('FOTOGRAFÍA
        DE VIA' for 'fotografía de viaje'), or its tail right before the phrase's next word. The neighbour read
        in its place is what makes a few letters evidence: alone they begin many words."""
        cut: dict[str, str] = {}
        for index, word in enumerate(phrase):
            if word in self.words or len(word) <= CUT_MIN_LETTERS:
                continue
            before = phrase[index - 1] if index else None
            after = phrase[index + 1] if index + 1 < len(phrase) else None
            if before not in self.words and after not in self.words:
                continue
            for left, right in self.adjacent:
                if left == before and _shows_part(right, word, word.startswith):
                    cut[word] = right
                elif right == after and _shows_part(left, word, word.endswith):
                    cut[word] = left
        return cut


def _shows_part(spine_word: str, word: str, shows: Callable[[str], bool]) -> bool:
    return CUT_MIN_LETTERS <= len(spine_word) < len(word) and spine_word.isalpha() and shows(spine_word)


# --- evidence, in nats ----------------------------------------------------------------------------
#
# Every matched word is worth its inverse document frequency in the catalog: the log of how much
# likelier it is to be read on this book's spine than on a random one. Call-number agreement and
# contradiction are worth roughly what the OCR's error rate on printed labels makes them worth.

Weigh = Callable[[str], float]

GLUED_HIT = 0.9
"""Credit for a catalog word read inside a longer spine word (OCR ran it together with its neighbour)."""
GLUED_PHRASE_MIN = 6
"""Letters a run of title words read together must have to be looked for inside the spine's words: shorter
strings occur inside other words by chance."""
CUT_MIN_LETTERS = 3
"""Letters a title word cut short must still show to be read as that word (`Reading.cut_short`), for the share
of its letters it shows."""
MISSING_TITLE_COST = 0.25
"""Share of a main-title word's weight lost when it is not read: spines are cut, glare hides words."""
MISSING_TITLE_CAP = 0.0
"""A spine showing only its label, and no word its book lacks, misses title words because it shows nothing
else: the missing words cost nothing then (cross-validated)."""
MISSING_TITLE_CAP_WITH_TEXT = 4.0
"""The cap when the spine shows real words the book does not hold: the title was legible, and was another."""
FUNCTION_WORD_READ = 3.0
"""Nats for each function word of the main title or series ('para', 'per', 'the') read on the spine."""
FUNCTION_WORD_MISSED = 1.5
"""Nats charged for each function word of the main title or series not read on the spine."""
FORENAME_WEIGHT = 0.5
"""Forenames tell apart authors who share a surname (Edward and Dylan Thomas), but are often initials."""
SUBTITLE_WEIGHT = 0.5
"""Subtitles are rarely printed on spines, and their words are generic ('with answers', 'una guía')."""
SERIES_WEIGHT = 0.5
"""Series words (collection, saga) on the spine are evidence, but shared by every volume of the series."""
TITLE_SATURATION = 25.0
"""Title words are not independent evidence: past a few words, more matching words add little."""
CODE_AGREES = 3.0
CLASS_AGREES = 2.0
CODE_CONTRADICTS = -20.0
CLASS_CONTRADICTS = -3.0
ISBN_AGREES = 15.0
TYPICAL_IDF = 6.0
VOLUME_CONTRADICTS = 4.0
"""A volume number in the title ('Conversaciones en inglés. 2') absent from a spine that shows another
small number: most likely another volume of the same series."""
ORDER_AGREES = 1.0
"""Nats for each pair of consecutive content words of the main title (or of the series) read in that order on
the spine: a title read as a phrase is more than its words ('Diccionari català-italià' against
'Diccionari italià-català'). A series phrase counts fully: 'THE HUNGER GAMES MOCKINGJAY' reads it for the volume
as much as for the book titled with it.
(Diacritics were tried as a signal too, 'Poesia' against 'Poesía': they cost precision, and were dropped.)"""
WHOLE_TITLE_READ = 1.0
"""Nats for a spine that shows every word of the book's main title and no real word the book lacks
('ZURBARAN', 'FRANCIA 91(026)(44) Fra'): the whole of what a spine prints, read, is more than some of it.
The counterpart of `MISSING_TITLE_CAP`, which lets such a spine miss title words at no cost."""
FOREIGN_WORD_COST = 1.0
"""Nats charged to a book per real word on the spine its record does not hold. A spine shows little
besides its book's title and author, so each such word makes the book less likely than a random one."""
UNEXPLAINED_COST = 0.5
"""Share of a spine word's weight charged to a book that leaves unexplained a word a rival explains."""


def default_weight(word: str) -> float:
    """Word weight when the catalog offers no statistics (a remote catalog): stopwords weigh little."""
    return 1.0 if word in STOPWORDS else TYPICAL_IDF


@dataclass(frozen=True)
class Evidence:
    title: float
    author: float
    tag: float
    isbn: float
    unexplained: float = 0.0
    foreign: float = 0.0
    shelf: float = 0.0
    explained: dict[str, float] = field(default_factory=dict, compare=False, repr=False)

    @property
    def total(self) -> float:
        return self.title + self.author + self.tag + self.isbn + self.unexplained + self.foreign + self.shelf


def _weighted(
    words: Iterable[str], reading: Reading, weigh: Weigh, explained: dict[str, float] | None = None,
    partly: Mapping[str, tuple[float, str]] | None = None,
) -> tuple[float, float]:
    """(weight read, weight missed) of a word list; notes in `explained` which spine words it read. A word the
    spine shows only in part (`partly`: word -> its credit and the spine word showing it: run together with its
    neighbours, or cut short) is read for that credit when it is not read better on its own."""
    read = missed = 0.0
    for word in words:
        hit, spine_word = reading.match(word)
        in_part = bool(partly) and word in partly and hit < partly[word][0]
        if in_part:
            hit, spine_word = partly[word]
        read += weigh(word) * hit
        missed += weigh(word) * (1.0 - hit)
        if explained is not None and (hit >= 0.8 or in_part):
            explained[spine_word] = max(explained.get(spine_word, 0.0), weigh(word))
    return read, missed


def _title_evidence(
    p: BookProfile, reading: Reading, weigh: Weigh, explained: dict[str, float]
) -> tuple[float, float, bool]:
    """(nats of title words read, nats of title words missed, whether every main-title word was read).
    Words of the author's name in the title or series ('Nicolás Guillén : selección poética' by Guillén,
    Nicolás; 'Biblioteca Amos Oz') were counted as the author's and are not counted twice. What the missed
    words cost depends on what else the spine shows (`missing_title_cost`)."""
    name = set(p.surnames) | set(p.forenames)
    glued = reading.run_together(p.main_phrase)
    partly = {word: (len(shown) / len(word), shown) for word, shown in reading.cut_short(p.main_phrase).items()}
    partly |= {word: (GLUED_HIT, holder) for word, holder in glued.words.items()}
    main_read, main_missed = _weighted((w for w in p.main_title if w not in name), reading, weigh, explained, partly)
    for spine_word in glued.spine_words:
        explained.setdefault(spine_word, 0.0)
    rest_read, _ = _weighted((w for w in p.title if w not in p.main_title and w not in name), reading, weigh, explained)
    volumes = [w for w in p.main_title if w.isdigit() and len(w) <= 2]
    other_volume = bool(volumes) and not any(w in reading.words for w in volumes) and bool(reading.numbers)
    seen = set(p.title) | name
    series_read, _ = _weighted((w for w in p.series if w not in seen), reading, weigh, explained)
    raw = main_read + SUBTITLE_WEIGHT * rest_read + SERIES_WEIGHT * series_read
    function_read, function_missed = _function_words(p, reading)
    read = (
        _saturate(raw) - (VOLUME_CONTRADICTS if other_volume else 0.0) + function_read
        + ORDER_AGREES * len(p.title_pairs & reading.pairs)
    )
    return read, MISSING_TITLE_COST * main_missed + function_missed, main_read > 0 and main_missed == 0


def missing_title_cost(missed: float, other_words: int) -> float:
    """What the title words not read cost (`missed`, in nats). A spine that shows nothing this book's record
    lacks (only its label, or a title half lost to glare) explains them by the reading; one that shows real
    words the book does not hold had a legible title, and it was another, so they weigh more."""
    return min(missed, MISSING_TITLE_CAP_WITH_TEXT if other_words else MISSING_TITLE_CAP)


def _function_words(p: BookProfile, reading: Reading) -> tuple[float, float]:
    """(nats read, nats missed) of the function words of the main title and series ('para' against 'per',
    'the' against 'el'): they tell apart editions of one work in two languages; each is weak evidence and
    none is a title word by itself."""
    read = sum(1 for w in p.function_words if w in reading.words)
    return FUNCTION_WORD_READ * read, FUNCTION_WORD_MISSED * (len(p.function_words) - read)


def _saturate(nats: float) -> float:
    return TITLE_SATURATION * (1.0 - math.exp(-nats / TITLE_SATURATION))


def split_tag(tag: str) -> tuple[str, str]:
    """(class, code) of a call number, compacted: 'N 834B Bry' -> ('n834b', 'bry')."""
    chunks = tag_chunks(tag)
    if chunks and _CODE_CHUNK.fullmatch(chunks[-1]) and not chunks[-1].isdigit():
        return "".join(chunks[:-1]), chunks[-1]
    return "".join(chunks), ""


@lru_cache(maxsize=65536)
def tag_key(tag: str) -> tuple[str, str]:
    """(folded class, folded code): the form in which two readings of one call number compare equal."""
    book_class, code = split_tag(tag)
    return fold_class(book_class), canon_code(code)


def fold_class(book_class: str) -> str:
    """A compacted class with the characters OCR confuses folded together: a children's 'I59.51' is read
    '159.51', the sans-serif I and the digit one being one stroke."""
    return book_class.translate(_OCR_CODE)


def _tag_evidence(p: BookProfile, reading: Reading, spine_tag: str | None, tag_weigh: Weigh) -> float:
    """The book's call number against the spine's: both parts read (in any order, as OCR reads labels) are
    worth how rare that call number is in the catalog; a part read alone is worth a little; a call number
    read on the spine that disagrees, and nowhere shows this book's code, counts against."""
    book_class = "".join(p.tag_class)
    code = canon_code(p.tag_code) if p.tag_code else ""
    code_seen = bool(code) and code in reading.codes
    numbered = any(ch.isdigit() for ch in book_class)
    class_seen = reading.shows_class(book_class)
    class_near = False
    score = 0.0
    spine_class, spine_code = split_tag(spine_tag) if spine_tag else ("", "")
    spine_code = canon_code(spine_code)
    if spine_tag and not _is_forename_read_as_code(p, reading, spine_code):
        if spine_code and code:
            if spine_code == code:
                code_seen = True
            elif not code_seen and fuzz.ratio(spine_code, code) < 60:
                score += CODE_CONTRADICTS
        if spine_class and book_class and not (class_seen and numbered):
            # a collection letter alone ('N') is seen in 'N 842 Wal' too: the label read decides
            class_seen = fold_class(spine_class) == fold_class(book_class)
            if class_seen:
                pass
            elif spine_class.endswith(book_class) or book_class.startswith(spine_class):
                class_near = True
            elif spine_class.isalpha() and sorted(spine_class) == sorted(book_class):
                class_near = True  # a collection mark's letters read in another order ('IN' for 'NI')
            elif fuzz.ratio(spine_class, book_class) < 60:
                score += CLASS_CONTRADICTS
    if code_seen and class_seen:
        # never less than a label read is worth by itself, even in a catalog too small for its statistics
        return score + max(tag_weigh(p.tag), default_tag_weight(p.tag))
    if code_seen:
        score += CODE_AGREES
    if class_seen and numbered:
        score += CLASS_AGREES
    elif class_seen or class_near:
        score += CLASS_AGREES / 2  # a collection letter alone ('N') says little
    return score


def _is_forename_read_as_code(p: BookProfile, reading: Reading, spine_code: str) -> bool:
    """Whether the code of the call number read (folded) is this book's author's forename, printed beside the
    surname ('I 8 99 Guy' from a spine printing 'Guy Kawasaki'): labels are written from a surname or a title,
    never a forename, so the words read were the name on the spine, not a label, and say nothing against the
    book's own call number."""
    if not spine_code or spine_code == canon_code(p.tag_code):
        return False
    forenames = [name for name in p.forenames if canon_code(name) == spine_code]
    return any((forename, surname) in reading.adjacent or (surname, forename) in reading.adjacent
               for forename in forenames for surname in p.surnames)


def default_tag_weight(tag: str) -> float:
    """Worth of a whole call number read on the spine when the catalog offers no statistics."""
    return CODE_AGREES + CLASS_AGREES


def evidence(
    reading: Reading, spine_tag: str | None, book: CatalogBook, weigh: Weigh, tag_weigh: Weigh = default_tag_weight
) -> Evidence:
    p = profile(book)
    explained: dict[str, float] = {}
    author_read, _ = _weighted(p.surnames, reading, weigh, explained)
    forename_read, _ = _weighted((w for w in p.forenames if len(w) > 2), reading, weigh, explained)
    title_read, title_missed, whole = _title_evidence(p, reading, weigh, explained)
    _explain_code(p, reading, weigh, explained)
    foreign = sum(1 for word in reading.word_list if _is_known_word(word, weigh) and word not in explained)
    whole_bonus = WHOLE_TITLE_READ if whole and not foreign else 0.0
    return Evidence(
        title=title_read - missing_title_cost(title_missed, foreign) + whole_bonus,
        author=author_read + FORENAME_WEIGHT * forename_read,
        tag=_tag_evidence(p, reading, spine_tag, tag_weigh),
        isbn=ISBN_AGREES if p.isbn and p.isbn in reading.digits else 0.0,
        foreign=-FOREIGN_WORD_COST * foreign,
        explained=explained,
    )


def _explain_code(p: BookProfile, reading: Reading, weigh: Weigh, explained: dict[str, float]) -> None:
    """A spine word that reads as this book's call-number code is explained by the book, as a title word would
    be: 'Mol' on 'Mol 371.2' is Moliner's label, not a word the book leaves unexplained while Mola's name
    explains it."""
    code = canon_code(p.tag_code) if p.tag_code else ""
    if not code or code not in reading.codes:
        return
    for word in reading.word_list:
        if canon_code(word) == code:
            explained[word] = max(explained.get(word, 0.0), weigh(word))


def _is_known_word(word: str, weigh: Weigh) -> bool:
    """A real word the catalog uses somewhere (not OCR debris, not a stopword, not a number or a code)."""
    return len(word) >= 4 and word.isalpha() and word not in STOPWORDS and weigh(word) < weigh("\x00")


def _may_be_run_together(word: str) -> bool:
    """A word long enough to be a title's words with the spaces lost ('SOLIENPOL'), known to the catalog or not:
    worth a search of its own, as `Reading.run_together` may find the title in it."""
    return len(word) >= GLUED_PHRASE_MIN and word.isalpha()


def with_competition(evidences: list[Evidence]) -> tuple[list[Evidence], float]:
    """Charge each book for spine words another candidate book explains and it does not.

    'THE HUNGER GAMES MOCKINGJAY' is read whole by the volume 'Mockingjay' (series + title), while
    'The Hunger games' leaves 'mockingjay' unexplained. Words no candidate explains (publisher, noise)
    charge everyone alike, so they are left out. The second value is the charge to 'not in the catalog':
    a book the catalog lacks may be the very one those words describe, so that hypothesis is charged only
    what the best-explaining candidate is. The charges move belief between catalog books; they do not by
    themselves make it likelier that the book is in the catalog at all (charging 'not in the catalog' for
    every word any candidate explains let a spine that two rivals half-explain name one of them).
    """
    pool: dict[str, float] = {}
    for ev in evidences:
        for word, weight in ev.explained.items():
            pool[word] = max(pool.get(word, 0.0), weight)
    charged = [
        replace(ev, unexplained=-UNEXPLAINED_COST * sum(w for word, w in pool.items() if word not in ev.explained))
        for ev in evidences
    ]
    return charged, max((ev.unexplained for ev in charged), default=0.0)


# --- one candidate: scores, posterior ------------------------------------------------------------

NOT_IN_CATALOG = 8.0
"""Score, in nats, of the hypothesis that the book is not in the catalog (or not a book at all), for a
catalog of the size this was measured on (15k books); `not_in_catalog_score` scales it to other sizes."""
REFERENCE_CATALOG_SIZE = 15_000
TEMPERATURE = 3.0
"""Evidence words are not independent (title words co-occur), so nats are divided by this to calibrate."""
MIN_POSTERIOR = 0.5
"""Posterior a book needs to be named. NOT_IN_CATALOG, TEMPERATURE and MIN_POSTERIOR were chosen together by
5-fold cross-validation of the offline spine benchmark: the most true hits at no lower precision."""


@dataclass(frozen=True)
class Scored:
    book: CatalogBook
    evidence: Evidence
    posterior: float


def not_in_catalog_score(catalog: Catalog) -> float:
    """Word weights are log-odds against the whole catalog (up to log N), so the bar they must clear
    grows with log N too: naming one book out of 30 needs less evidence than one out of 15,000."""
    size = len(catalog)
    if size <= 0:
        return NOT_IN_CATALOG
    return NOT_IN_CATALOG * math.log(size + 1) / math.log(REFERENCE_CATALOG_SIZE + 1)


def _copies_of_works(books: Iterable[CatalogBook]) -> dict[tuple[str, str], set[str]]:
    """Work (title and author) -> the ids of its copies among these books."""
    copies: dict[tuple[str, str], set[str]] = {}
    for book in books:
        copies.setdefault(profile(book).work, set()).add(book.book_id)
    return copies


def _posteriors(scores: list[tuple[CatalogBook, Evidence]], none: float = NOT_IN_CATALOG) -> list[Scored]:
    """Posterior of each distinct work against the others and against 'not in the catalog'.

    Copies of one work (same title and author) are one hypothesis, so duplicates do not split the mass; but each
    copy is a book that may stand on the shelf, so a work the library holds five copies of is five times as
    likely a priori as one it holds once (the copies counted among the books the search returned).
    """
    best: dict[tuple[str, str], tuple[CatalogBook, Evidence]] = {}
    copies = _copies_of_works(book for book, _ in scores)
    for book, ev in scores:
        work = profile(book).work
        if work not in best or ev.total > best[work][1].total:
            best[work] = (book, ev)
    top = max([none, *(ev.total for _, ev in best.values())])
    mass = {work: len(copies[work]) * math.exp((ev.total - top) / TEMPERATURE) for work, (_, ev) in best.items()}
    norm = math.exp((none - top) / TEMPERATURE) + sum(mass.values())
    ranked = [Scored(book, ev, mass[profile(book).work] / norm) for book, ev in scores]
    return sorted(ranked, key=lambda s: -s.evidence.total)


@dataclass(frozen=True)
class Hypotheses:
    """The catalog books a candidate may be, with their evidence, and the score of 'none of them'."""

    scores: list[tuple[CatalogBook, Evidence]]
    none: float

    def posteriors(self) -> list[Scored]:
        return _posteriors(self.scores, self.none)


def hypotheses(candidate: Candidate, catalog: Catalog, *, limit: int = SEARCH_LIMIT) -> Hypotheses:
    """What the catalog offers for a candidate; a spine with nothing read is looked up nowhere (a remote
    catalog would be asked an empty question)."""
    if not (candidate.text.strip() or candidate.tag or candidate.isbn):
        return Hypotheses([], not_in_catalog_score(catalog))
    query = CatalogQuery(
        text=candidate.text, title=candidate.title, author=candidate.author, isbn=candidate.isbn,
        tag=candidate.tag,
    )
    weigh = catalog.idf
    tag_weigh = catalog.tag_idf
    reading = Reading.of(candidate)
    books = catalog.search(query, limit=limit)
    evidences, none_charge = with_competition(
        [evidence(reading, candidate.tag, book, weigh, tag_weigh) for book in books]
    )
    return Hypotheses(list(zip(books, evidences, strict=True)), not_in_catalog_score(catalog) + none_charge)


def score_candidate(candidate: Candidate, catalog: Catalog, *, limit: int = SEARCH_LIMIT) -> list[Scored]:
    """Catalog books this candidate may be, best first, each with its posterior probability."""
    return hypotheses(candidate, catalog, limit=limit).posteriors()


# --- the shelf as context --------------------------------------------------------------------------

SHELF_SURE = 0.9
"""Posterior from which a named book speaks for its shelf: its class and its copy are taken as facts."""
SHELF_MIN_BOOKS = 3
"""Fewer books named for sure with their call numbers read than this (a home shelf, a stack, one cover) make no
shelf: no prior at all."""


def class_top(tag: str) -> str:
    """The top of a call number's class: the collection letters ('N', 'JN', 'P') or else the first digit of the
    decimal class ('796.332' -> '7'). Books shelved together share it; a book of another top is far away."""
    book_class, _ = split_tag(tag)
    letters = re.match(r"[a-z*]+", book_class)
    return letters.group(0) if letters else book_class[:1]


@dataclass(frozen=True)
class Shelf:
    """What the books named for sure say about the rest: which copies stand elsewhere on the shelf already, and
    which classes it holds."""

    taken: dict[str, int]
    """Copy (book id) -> the candidate that holds it."""
    tops: frozenset[str]
    books: int

    @classmethod
    def of(cls, chosen: dict[int, Scored]) -> Shelf | None:
        sure = {index: s for index, s in chosen.items() if s.posterior >= SHELF_SURE}
        if sum(s.evidence.tag > 0 for s in sure.values()) < SHELF_MIN_BOOKS:
            return None  # no stickers read: a home shelf or a stack, whose books' classes say nothing of the rest
        tops = [class_top(s.book.tag) for s in sure.values() if s.book.tag]
        return cls({s.book.book_id: index for index, s in sure.items()}, frozenset(filter(None, tops)), len(tops))

    @property
    def far_class_cost(self) -> float:
        """Nats against a book of a class none of the shelf's books has: by the rule of succession, after n books
        of the shelf's classes the next one is of another with odds of about 1 in n + 1."""
        return math.log(self.books + 1)

    def reweigh(self, index: int, candidate: Candidate, found: Hypotheses) -> Hypotheses:
        """This candidate's hypotheses in the light of the shelf: where the spine shows a call number, a work
        carrying that call number whose every copy is named on another spine is no longer one of them; a book of
        a far class whose call number the spine does not show pays `far_class_cost`. A candidate that is itself
        a sure book is left as it was.

        Only a spine's own call number rules works out: a spine showing an author's name alone is as often a
        piece of a spine already named (its title read apart) as another book, and ruling that book out
        would hand the piece to a sibling."""
        if index in self.taken.values():
            return found
        label = tag_key(candidate.tag) if candidate.tag else None
        copies = _copies_of_works(book for book, _ in found.scores)
        kept = []
        for book, ev in found.scores:
            shown_elsewhere = all(self.taken.get(copy, index) != index for copy in copies[profile(book).work])
            if shown_elsewhere and label is not None and tag_key(book.tag) == label:
                continue
            top = class_top(book.tag) if book.tag else ""
            if top and top not in self.tops and ev.tag <= 0:
                ev = replace(ev, shelf=-self.far_class_cost)
            kept.append((book, ev))
        return Hypotheses(kept, found.none)


# --- the whole photo: one assignment ---------------------------------------------------------------


@dataclass(frozen=True)
class Identified:
    book: CatalogBook
    confidence: float
    candidate_index: int
    candidate: Candidate
    evidence: Evidence
    part: int = 0
    """0 for the book a candidate was read as; 1, 2 for further books found in the words it left unexplained
    (two spines the OCR grouping read as one). `candidate` is then that remainder."""
    shelf: bool = False
    """Named only once the shelf's other books were known (`Shelf.reweigh`)."""


@dataclass(frozen=True)
class NotIdentified:
    candidate_index: int
    candidate: Candidate
    reason: str


@dataclass
class IdentifyOutcome:
    identified: list[Identified] = field(default_factory=list)
    unidentified: list[NotIdentified] = field(default_factory=list)


UNREAD_SPINE = "a spine was found here, but none of its text could be read"


def _explain(scored: list[Scored], candidate: Candidate) -> str:
    if not candidate.text.strip():
        return UNREAD_SPINE
    if not scored:
        return "no catalog book shares its words"
    if candidate.tag and _shows_only_its_label(candidate):
        works = {profile(s.book).work: s.book for s in scored if tag_key(s.book.tag) == tag_key(candidate.tag)}
        if len(works) > 1:
            titles = [f"'{book.title}'" for book in works.values()]
            examples = ", ".join(titles[:2] + (["..."] if len(titles) > 2 else []))
            return f"only its call number '{candidate.tag}' was read, and several books carry it ({examples})"
    closest = max(scored, key=lambda s: s.evidence.title + s.evidence.author)
    if closest.evidence.tag <= CODE_CONTRADICTS / 2 and closest.evidence.title > 0:
        book = closest.book
        return f"the call number on the spine contradicts the closest title, '{book.title}' ({book.tag})"
    best = scored[0]
    return f"too uncertain: best match '{best.book.title}' at {best.posterior:.2f}"


def _filed_between(books: list[CatalogBook]) -> str:
    titles = ", ".join(f"'{book.title}' ({book.tag})" for book in books)
    count = "one book" if len(books) == 1 else f"{len(books)} books"
    return f"; the catalog files {count} between its neighbours that are not on the photo: {titles}"


def _shows_only_its_label(candidate: Candidate) -> bool:
    """Whether the spine's only legible words are its call number ('N Pal'): stray letters do not count."""
    label = set(tokens(candidate.tag or ""))
    return all(word in label for word in tokens(candidate.text) if len(word) >= 3 and word.isalpha())


FURTHER_BOOK_MIN_POSTERIOR = 0.8
"""Posterior a further book, read in the words a candidate's book leaves unexplained, needs to be named.
Grouping OCR lines into spines sometimes joins two neighbours ('SERGI PÀMIES LA BICICLETA ESTÀTICA ... SI MENGES
UNA LLIMONA SENSE FER GANYOTES'), and the second book would be lost. On the dev split this names a further book
on 62 rows, each a segment holding two books: 61 of the 82 labelled merged, and one the labels missed. On 12
rescaled or tilted copies of the real shelf photo recall rose from 0.886 to 0.908 at the same precision."""
MAX_BOOKS_PER_CANDIDATE = 3


def _remainder(candidate: Candidate, book: CatalogBook, evidence: Evidence, weigh: Weigh) -> Candidate | None:
    """The candidate's text without the words its book explains, as a candidate of its own, when a real word
    is left: the rest of a segment that held two books.

    The book's author's name, shown again, stays in the rest once per further showing: two spines side by side
    are often by one author (a shelf files an author's books together), and each spine prints the name. Its
    title shown again is the same spine read twice, and goes, with the function words that lead into its words
    ('Els', 'de la' of 'Els Xiquets de la gorra'), which would otherwise read as the start of another title."""
    explained = evidence.explained.keys()
    p = profile(book)
    name = {*p.surnames, *p.forenames}
    title_words = explained - name - {p.tag_code}
    unexplained, words, shown = [], [], set()
    spine_words = candidate.text.split()
    for index, word in enumerate(spine_words):
        mine = explained & set(tokens(word))
        if not mine and _leads_into(spine_words[index:], title_words):
            continue
        if not mine:
            unexplained.append(word)
        if not mine or (mine <= shown and mine <= name):
            words.append(word)
        shown |= mine
    if not any(_is_known_word(word, weigh) or _may_be_run_together(word)
               for word in tokens(" ".join(unexplained))):
        return None
    tag = candidate.tag if candidate.tag and tag_key(candidate.tag) != tag_key(book.tag) else None
    isbn = candidate.isbn if candidate.isbn and isbn_digits(candidate.isbn) != book.isbn else None
    return candidate.model_copy(update={"text": " ".join(words), "tag": tag, "isbn": isbn, "title": None,
                                        "author": None})


def _leads_into(words: Sequence[str], title_words: set[str]) -> bool:
    """Whether the first of these spine words is a function word leading, over other function words only,
    into a word the book explains as its title ('la' of 'la gorra'; not 'La' of 'La por N Che', a title of
    function words before the book's label)."""
    for word in words:
        read = tokens(word)
        if not read or not all(w in STOPWORDS for w in read):
            return not title_words.isdisjoint(read)
    return False


def _further_books(
    outcome: IdentifyOutcome, catalog: Catalog, taken: set[str], min_posterior: float
) -> tuple[list[Identified], list[NotIdentified]]:
    """Books found in what each identified candidate's book leaves unexplained, each claiming a copy not yet
    taken, as in the main assignment, and each searched for a further one in turn. Real words that name no
    further book are given back as not identified: a result accounts for every word it was given (they are
    most often a neighbouring spine the grouping joined to this one)."""
    weigh = catalog.idf
    found: list[Identified] = []
    left_over: list[NotIdentified] = []
    pending = list(outcome.identified)
    while pending:
        item = pending.pop(0)
        rest = _remainder(item.candidate, item.book, item.evidence, weigh)
        if rest is None:
            continue
        if item.part + 1 >= MAX_BOOKS_PER_CANDIDATE:
            left_over.append(NotIdentified(item.candidate_index, rest, _left_over_reason(item.book, [])))
            continue
        scored = score_candidate(rest, catalog)
        best = scored[0] if scored else None
        copy = free_copy(best, scored, taken) if best is not None and best.posterior >= min_posterior else None
        named = {profile(other.book).work for other in [*outcome.identified, *found]
                 if other.candidate_index == item.candidate_index}
        if copy is None or profile(copy).work in named:
            left_over.append(NotIdentified(item.candidate_index, rest, _left_over_reason(item.book, scored)))
            continue
        taken.add(copy.book_id)
        further = Identified(copy, round(best.posterior, 4), item.candidate_index, rest, best.evidence, item.part + 1)
        found.append(further)
        pending.append(further)
    return found, left_over


def _left_over_reason(book: CatalogBook, scored: list[Scored]) -> str:
    reason = f"words read beside '{book.title}' that it does not explain"
    if scored:
        return f"{reason}; best match for them '{scored[0].book.title}' at {scored[0].posterior:.2f}"
    return f"{reason}; no catalog book shares them"


def identify_books(
    candidates: list[Candidate], catalog: Catalog, *, min_posterior: float = MIN_POSTERIOR, shelf: bool = True,
    upright_turn: Turn = 0,
) -> IdentifyOutcome:
    """Name the catalog book behind each candidate, or leave it unidentified with the reason.

    Candidates are resolved together: the most certain ones claim their books first, and a copy once
    claimed is not given to a second spine; that spine falls back to its next hypothesis, which must
    itself be certain enough. Two spines can both be one title only when the catalog holds two copies.
    With `shelf`, the books named for sure then become context for the others (`Shelf.reweigh`), and the
    photo is resolved again: a spine whose call number several books carry names the one the shelf has not
    shown yet; a book of a class far from the shelf's needs more evidence. Then spines still torn between
    the same few works are resolved as a set (`_jointly`), and last the shelf's filing order places what is
    left between its sure neighbours (`workers.catalog.shelf_order`).
    """
    found = [hypotheses(candidate, catalog) for candidate in candidates]
    ranked = first_ranked = [h.posteriors() for h in found]
    chosen = _assign(ranked, min_posterior)
    context = Shelf.of(chosen) if shelf else None
    by_shelf: set[int] = set()
    filed_between: dict[int, list[CatalogBook]] = {}
    if context is not None:
        found = [context.reweigh(i, candidates[i], h) for i, h in enumerate(found)]
        ranked = [h.posteriors() for h in found]
        first = chosen
        chosen = _assign(ranked, min_posterior)
        by_shelf = {i for i, s in chosen.items() if i not in first or first[i].book.book_id != s.book.book_id}
    if shelf:
        from workers.catalog.shelf_order import by_shelf_order  # here: that module builds on this one

        joint = _jointly(ranked, chosen, min_posterior)
        chosen |= joint
        order = by_shelf_order(candidates, found, chosen, catalog, min_posterior, upright_turn)
        chosen |= order.named
        by_shelf |= set(joint) | set(order.named)
        filed_between = order.filed_between
    taken = {s.book.book_id for s in chosen.values()}
    outcome = IdentifyOutcome()
    for index, candidate in enumerate(candidates):
        if index in chosen:
            s = chosen[index]
            outcome.identified.append(
                Identified(s.book, round(s.posterior, 4), index, candidate, s.evidence, shelf=index in by_shelf)
            )
        else:
            reason = _explain(first_ranked[index], candidate)
            if ranked[index] and ranked[index][0].posterior >= min_posterior:
                reason = f"its best match '{ranked[index][0].book.title}' is taken by a likelier spine"
            if index in filed_between:
                reason += _filed_between(filed_between[index])
            outcome.unidentified.append(NotIdentified(index, candidate, reason))
    further, left_over = _further_books(outcome, catalog, taken, max(min_posterior, FURTHER_BOOK_MIN_POSTERIOR))
    outcome.identified.extend(further)
    outcome.unidentified.extend(left_over)
    return outcome


JOINT_OPTIONS = 4
"""Works per spine weighed in a joint resolution (the rest is 'another book, or none in the catalog')."""
JOINT_MAX_SPINES = 4
JOINT_MIN_SHARE = 0.1
"""Posterior from which a work ties two unnamed spines into one set to resolve jointly."""


def _jointly(ranked: list[list[Scored]], chosen: dict[int, Scored], min_posterior: float) -> dict[int, Scored]:
    """Unnamed spines that hesitate between the same few works, resolved as a set: one copy is one spine, so two
    spines torn between 'Navarra' and 'Navarra : mapa de carreteras' (same author, same label) hold both, even
    though neither alone says which. Every way of giving the spines those works (or none) is weighed by the
    spines' own posteriors, no copy given twice; a work present in assignments holding at least `min_posterior`
    of the weight is named, on the spine the likeliest assignment gives it to, with that probability."""
    taken = {s.book.book_id for s in chosen.values()}
    unnamed, options = [], []
    for index, scored in enumerate(ranked):
        works = list({profile(s.book).work: s for s in reversed(scored) if s.book.book_id not in taken}.values())
        works.sort(key=lambda s: -s.posterior)
        if index not in chosen and works and works[0].posterior >= JOINT_MIN_SHARE:
            unnamed.append(index)
            options.append(works[:JOINT_OPTIONS])
    sets = DisjointSets(len(unnamed))
    first_with: dict[tuple[str, str], int] = {}
    for k, works in enumerate(options):
        for s in works:
            if s.posterior >= JOINT_MIN_SHARE:
                sets.union(k, first_with.setdefault(profile(s.book).work, k))
    found: dict[int, Scored] = {}
    for members in sets.members():
        if 2 <= len(members) <= JOINT_MAX_SPINES:
            found |= _resolve_set([unnamed[k] for k in members], [options[k] for k in members], ranked, taken,
                                  min_posterior)
    return found


def _resolve_set(
    indices: list[int], options: list[list[Scored]], ranked: list[list[Scored]], taken: set[str], min_posterior: float
) -> dict[int, Scored]:
    """The works a set of spines holds (see `_jointly`), each on the spine the likeliest assignment gives it."""
    copies = _copies_of_works(s.book for index in indices for s in ranked[index] if s.book.book_id not in taken)
    rest = [max(1.0 - sum(s.posterior for s in works), 1e-9) for works in options]
    weighed: list[tuple[float, tuple[Scored | None, ...]]] = []
    for assignment in itertools.product(*([*works, None] for works in options)):
        used = [profile(s.book).work for s in assignment if s is not None]
        if any(used.count(work) > len(copies[work]) for work in set(used)):
            continue
        weight = math.prod(s.posterior if s is not None else none for s, none in zip(assignment, rest, strict=True))
        weighed.append((weight, assignment))
    total = sum(weight for weight, _ in weighed)
    presence: dict[tuple[str, str], float] = {}
    for weight, assignment in weighed:
        for work in {profile(s.book).work for s in assignment if s is not None}:
            presence[work] = presence.get(work, 0.0) + weight / total
    _, likeliest = max(weighed, key=lambda item: item[0])
    return {index: Scored(s.book, s.evidence, presence[profile(s.book).work])
            for index, s in zip(indices, likeliest, strict=True)
            if s is not None and presence[profile(s.book).work] >= min_posterior}


def _assign(ranked: list[list[Scored]], min_posterior: float) -> dict[int, Scored]:
    """Candidate index -> the copy it names: likeliest claims first, one spine per copy. The copies of one work
    share its posterior; among them a candidate claims them in the order of its own evidence (the copy whose
    call number its sticker shows first)."""
    claims = sorted(
        ((s.posterior, index, rank) for index, scored in enumerate(ranked) for rank, s in enumerate(scored)),
        key=lambda claim: (-claim[0], -claim[1], claim[2]),
    )
    taken: set[str] = set()
    chosen: dict[int, Scored] = {}
    for posterior, index, rank in claims:
        if posterior < min_posterior:
            break
        scored = ranked[index][rank]
        if index in chosen:
            continue
        copy = free_copy(scored, ranked[index], taken)
        if copy is None:
            continue
        taken.add(copy.book_id)
        chosen[index] = Scored(copy, scored.evidence, scored.posterior)
    return chosen


def free_copy(scored: Scored, alternatives: list[Scored], taken: set[str]) -> CatalogBook | None:
    """This book, or another copy of the same work among the candidate's hypotheses, not yet claimed.

    A second copy of a work another spine holds needs its own title or call number read: an author's name alone
    beside that spine is its name line read apart, not a second copy."""
    work = profile(scored.book).work
    copies = [option.book for option in [scored, *alternatives] if profile(option.book).work == work]
    if scored.evidence.title <= 0 and scored.evidence.tag <= 0 and any(c.book_id in taken for c in copies):
        return None
    return next((copy for copy in copies if copy.book_id not in taken), None)


def signals(item: Identified) -> list[str]:
    """Which signals spoke for the book, in the result's terms."""
    ev = item.evidence
    named = [("title", ev.title), ("author", ev.author), ("call_number", ev.tag), ("isbn", ev.isbn)]
    return [name for name, nats in named if nats > 0] + (["shelf"] if item.shelf else [])


def to_result_books(outcome: IdentifyOutcome, *, catalog_name: str = "local") -> tuple[list[Book], list[Unidentified]]:
    """The outcome in the result message's terms: books found and the text we could not place."""
    books = [
        Book(
            title=item.book.title,
            author=item.book.author or None,
            isbn=item.book.isbn or None,
            tag=item.book.tag or None,
            confidence=float(item.confidence),
            evidence=item.candidate.text[:300],
            catalog=catalog_name,
            cover_url=item.book.cover_url,
            box=item.candidate.box,
            polygon=item.candidate.polygon,
            signals=signals(item),
        )
        for item in outcome.identified
    ]
    missing = [
        Unidentified(text=item.candidate.text[:300] or "(no text)", reason=item.reason, box=item.candidate.box,
                     polygon=item.candidate.polygon)
        for item in outcome.unidentified
    ]
    return books, missing
