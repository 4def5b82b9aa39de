"""The hybrid candidate builder: offline grouping and the catalog first, Claude only for the residue.

Most spines on a shelf carry enough text for the catalog to name the book with near certainty; paying
a model to read them again buys nothing. So:

1. the offline builder groups the OCR lines into books by geometry (no model call);
2. each group is looked up in the catalog (cached per process: the same spine text repeats across
   redeliveries and photos of the same shelf); a group whose best match has a posterior of at least
   `resolve_at` is kept as it is, and validation confirms it the same way;
3. groups too thin to identify a book (no title-like words: stickers, logos, a lone call number)
   stay offline candidates as well: a text request has nothing to add to them (a crop may: step 5);
4. only the remaining lines go to Claude, with a compact prompt (their grouping is already known,
   so no geometry and no reading instructions), and Claude's books replace those groups;
5. with a crop budget (`crop_budget` > 0), the spines still unresolved after that — too thin for a
   text request, unread, or left unclaimed by Claude's text answer — are sent as image crops of the
   photo, up to the budget per job, in one request (`workers/bedrock/crops.py`); a book Claude reads
   off a crop replaces that spine's candidate. The photo is read only when there is a crop to send.

The catalog and Claude are both built lazily: a photo the catalog resolves never imports `anthropic`.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from models import AnalysisProfile, BoundingBox, Candidate, OcrLine, SpineRegion, Stage
from workers.bedrock.builder import CandidateBuilder, CandidateSet, PhotoReader
from workers.bedrock.offline import OfflineCandidateBuilder
from workers.common.log import get_logger

if TYPE_CHECKING:
    from workers.bedrock.claude import ClaudeCandidateBuilder
    from workers.catalog.base import Catalog

RESOLVE_AT = 0.8
"""Posterior from which the catalog's answer stands and the group never reaches Claude. Higher than the
bar validation accepts a match at (`matcher.MIN_POSTERIOR`, 0.5): a spine the catalog is only fairly sure
of is worth a model call, whose answer validation then checks again."""
MIN_TITLE_LETTERS = 20
"""A group whose words of 3+ letters add up to fewer letters than this is not worth a model call: on the dev
split a catalogued spine's words nearly always add up to more, a stray fragment's to far fewer (README,
"Quality"). Such groups still go to validation as the offline builder read them."""
CACHE_SIZE = 4096

_TITLE_WORD = re.compile(r"[^\W\d_]{3,}")

RESIDUE_INSTRUCTIONS = """\
You read book spines for a library. An OCR engine read the text below from a shelf photo; each
group is the text of one spine (rows: `id<TAB>text`), already grouped, that the library catalog could
not match as it was read. For every group that is a book, call `record_books` once with: `title` and
`author` as printed, fixing obvious OCR errors (`H0BBIT` -> `Hobbit`) and keeping the book's language
(never translate); `tag` = the call number if printed (e.g. `821 Orw`); `evidence` = the ids of the
group's rows. Use null for what is unreadable, invent nothing, and leave out groups that are not books.
"""


@dataclass(frozen=True)
class Lookup:
    """What the catalog said about one group: its best posterior and the book behind it."""

    posterior: float
    title: str | None = None


def title_letters(text: str) -> int:
    return sum(len(word) for word in _TITLE_WORD.findall(text))


def compact_books_tool(description: str, key: str, key_schema: dict[str, Any]) -> dict[str, Any]:
    """`record_books` with only the fields a compact answer needs (a smaller schema is fewer tokens), each book
    tied to what it was read from by `key`."""
    book = {
        "type": "object",
        "properties": {
            key: key_schema,
            "title": {"type": ["string", "null"]},
            "author": {"type": ["string", "null"]},
            "tag": {"type": ["string", "null"]},
        },
        "required": [key, "title"],
    }
    return {
        "name": "record_books",
        "description": description,
        "input_schema": {"type": "object", "properties": {"books": {"type": "array", "items": book}},
                         "required": ["books"]},
    }


def residue_tool() -> dict[str, Any]:
    """The residue's `record_books`: each book cites the ids of the rows it was read from."""
    return compact_books_tool("Record the books read in the groups.", "evidence",
                              {"type": "array", "items": {"type": "integer"}})


def residue_message(groups: Sequence[Sequence[OcrLine]]) -> dict[str, Any]:
    blocks = []
    for number, group in enumerate(groups, 1):
        rows = "\n".join(f"{line.id}\t{' '.join(line.text.split())}" for line in group)
        blocks.append(f"Group {number}:\n{rows}")
    return {"role": "user", "content": "\n\n".join(blocks)}


class HybridCandidateBuilder:
    """`CandidateBuilder`: catalog-resolved groups offline, the rest through Claude."""

    name = "hybrid"

    def __init__(self, catalog: Catalog, claude: ClaudeCandidateBuilder, **options: Any):
        """The builder over a catalog and a Claude builder already made; `on_first_use` makes them when first
        needed. The options are `_configure`'s."""
        self._configure(lambda: catalog, lambda: claude, **options)

    @classmethod
    def on_first_use(
        cls, catalog: Callable[[], Catalog], claude: Callable[[], ClaudeCandidateBuilder], **options: Any
    ) -> HybridCandidateBuilder:
        """The builder with its catalog and its Claude builder made by these factories when first needed, so a
        cold start imports neither the catalog nor `anthropic`."""
        builder = cls.__new__(cls)
        builder._configure(catalog, claude, **options)
        return builder

    def _configure(
        self,
        catalog: Callable[[], Catalog],
        claude: Callable[[], ClaudeCandidateBuilder],
        *,
        resolve_at: float = RESOLVE_AT,
        min_title_letters: int = MIN_TITLE_LETTERS,
        cache_size: int = CACHE_SIZE,
        score: Callable[[Candidate, Any], list[Any]] | None = None,
        crop_budget: int = 0,
        grouping: CandidateBuilder | None = None,
    ) -> None:
        """`crop_budget` is the most spines per job sent to Claude as image crops (0: none, the photo is never
        read); `grouping` the `CandidateBuilder` that groups lines into spines (the offline builder by default)."""
        self._make_catalog = catalog
        self._make_claude = claude
        self._catalog: Catalog | None = None
        self._claude: ClaudeCandidateBuilder | None = None
        self.resolve_at = resolve_at
        self.min_title_letters = min_title_letters
        self.cache_size = cache_size
        self._score = score
        self.crop_budget = crop_budget
        self._cache: OrderedDict[tuple, Lookup] = OrderedDict()
        self.offline = grouping or OfflineCandidateBuilder()
        self.lookups = 0
        self.cache_hits = 0

    # -- collaborators, built on first use ------------------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = self._make_catalog()
        return self._catalog

    @property
    def claude(self) -> ClaudeCandidateBuilder:
        if self._claude is None:
            self._claude = self._make_claude()
        return self._claude

    # -- the catalog check ----------------------------------------------------------------------------

    def lookup(self, candidate: Candidate) -> Lookup:
        """The catalog's best answer for a group, cached by what the lookup reads."""
        key = (candidate.text, candidate.title, candidate.author, candidate.tag, candidate.isbn)
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            self.cache_hits += 1
            return found
        self.lookups += 1
        score = self._score
        if score is None:
            from workers.catalog.matcher import score_candidate

            score = score_candidate
        scored = score(candidate, self.catalog)
        found = Lookup(scored[0].posterior, scored[0].book.title) if scored else Lookup(0.0)
        self._cache[key] = found
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return found

    def worth_asking(self, candidate: Candidate) -> bool:
        return title_letters(candidate.text) >= self.min_title_letters

    @property
    def reads_photo(self) -> bool:
        """Whether `build` may read the photo it is handed: only with a crop budget."""
        return self.crop_budget > 0

    def unresolved(self, candidate: Candidate) -> bool:
        """A spine the catalog does not name with confidence; an unread one has nothing to look up."""
        return not candidate.text.strip() or self.lookup(candidate).posterior < self.resolve_at

    # -- the builder ----------------------------------------------------------------------------------

    def build(
        self,
        lines: list[OcrLine],
        *,
        profile: AnalysisProfile,
        aspect: float = 1.0,
        spines: Sequence[SpineRegion] = (),
        photo: PhotoReader | None = None,
    ) -> CandidateSet:
        grouped = self.offline.build(lines, profile=profile, aspect=aspect, spines=spines)
        cropping = photo is not None and self.crop_budget > 0
        kept: list[Candidate] = []
        residue: list[Candidate] = []
        thin: list[Candidate] = []  # too little text for a text request, unresolved: only a crop can help
        for candidate in grouped.candidates:
            if not self.worth_asking(candidate):
                kept.append(candidate)
                if cropping and candidate.box is not None and self.unresolved(candidate):
                    thin.append(candidate)
            elif self.lookup(candidate).posterior >= self.resolve_at:
                kept.append(candidate)
            else:
                residue.append(candidate)
        asked = CandidateSet(candidates=[])
        unclaimed: list[Candidate] = []
        if residue:
            by_id = {line.id: line for line in lines}
            groups = [[by_id[i] for i in candidate.evidence if i in by_id] for candidate in residue]
            asked = self.ask_claude(groups, profile=profile)
            answered = {i for candidate in asked.candidates for i in candidate.evidence}
            # a group Claude did not claim stays as the offline builder read it: validation may still place it
            unclaimed = [c for c in residue if not answered.intersection(c.evidence)]
        candidates = [*kept, *asked.candidates, *unclaimed]
        usage, provider, model = asked.usage, asked.provider, asked.model
        wanted = {id(c) for c in thin} | {id(c) for c in unclaimed if c.box is not None}
        to_crop = _reading_order([c for c in candidates if id(c) in wanted])[: self.crop_budget]
        read = None
        if to_crop and photo is not None:
            from workers.bedrock.crops import spine_extent

            shelf = [c.box for c in candidates if c.box is not None]
            chosen = [(c, spine_extent(c.box, shelf, aspect)) for c in to_crop if c.box is not None]
            read = self.ask_claude_crops(chosen, photo, profile=profile)
        if read is not None:
            replaced = {id(c) for c in read.replaced}
            candidates = [c for c in candidates if id(c) not in replaced] + read.found.candidates
            usage = usage + read.found.usage
            provider, model = provider or read.found.provider, read.found.model or model
        return CandidateSet(
            # the offline builder's order when nobody was asked, else the photo's reading order
            candidates=_reading_order(candidates) if residue or read else kept,
            unassigned_lines=grouped.unassigned_lines,
            usage=usage,
            provider=f"{self.name}+{provider}" if provider else self.name,
            model=model,
        )

    def ask_claude(self, groups: Sequence[Sequence[OcrLine]], *, profile: AnalysisProfile) -> CandidateSet:
        """One compact Claude request for the residue groups, parsed by the Claude builder's own rules."""
        from workers.bedrock.claude import candidates_from, parse_tool_input

        lines = [line for group in groups for line in group]
        raw, answer = self.claude.ask(RESIDUE_INSTRUCTIONS, residue_tool(), residue_message(groups),
                                      items=len(groups), profile=profile)
        if raw is not None:
            answer.candidates, _ = candidates_from(parse_tool_input(raw), lines)
        return answer

    def ask_claude_crops(
        self, chosen: Sequence[tuple[Candidate, BoundingBox]], photo: PhotoReader, *, profile: AnalysisProfile
    ) -> CropAnswer | None:
        """One request with the chosen spines cut out at their boxes; None when the photo could not be cropped."""
        from workers.bedrock.claude import parse_tool_input
        from workers.bedrock.crops import (
            CROP_INSTRUCTIONS,
            CropList,
            candidates_from_crops,
            crop_message,
            crop_tool,
            make_crops,
            upright_photo,
        )

        picture = upright_photo(photo)
        crops = make_crops(picture, chosen) if picture is not None else []
        if not crops:
            return None
        raw, answer = self.claude.ask(CROP_INSTRUCTIONS, crop_tool(), crop_message(crops), items=len(crops),
                                      profile=profile)
        read = candidates_from_crops(parse_tool_input(raw, CropList), crops) if raw is not None else {}
        answer.candidates = list(read.values())
        get_logger(Stage.CANDIDATES.value).info("spine crops read", sent=len(crops), named=len(read))
        return CropAnswer(found=answer, replaced=[crop.candidate for crop in crops if crop.number in read])


@dataclass
class CropAnswer:
    """What a crop request read: the new candidates (and the request's usage), and the ones they replace."""

    found: CandidateSet
    replaced: list[Candidate]


def _reading_order(candidates: Sequence[Candidate]) -> list[Candidate]:
    return sorted(candidates, key=lambda c: (c.box.top if c.box else 0.0, c.box.left if c.box else 0.0))
