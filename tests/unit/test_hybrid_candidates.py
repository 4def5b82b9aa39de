"""HybridCandidateBuilder: the catalog resolves what it can, Claude (a fake speaking the Messages API)
reads only the rest."""

from __future__ import annotations

import sys

from embedded.embedded_stack import DEMO_CATALOG
from embedded.fakes.anthropic_server import FakeClaude, ocr_lines_in
from models import AnalysisProfile, BoundingBox, OcrLine
from workers.bedrock.claude import ClaudeCandidateBuilder, make_claude_client
from workers.bedrock.hybrid import HybridCandidateBuilder, residue_message, title_letters
from workers.catalog.local import LocalCatalog, read_books
from workers.common.settings import ProfileSettings

PROFILES = {"auto": ProfileSettings(model="claude-haiku-4-5", max_tokens=1024, prompt="auto")}
# the demo library's catalog, without La sombra del viento (the uncatalogued book below)
CATALOG = LocalCatalog([b for b in read_books(DEMO_CATALOG) if "sombra" not in b.title.lower()])


def spine(i: int, text: str) -> OcrLine:
    """One vertical spine line per book, side by side."""
    return OcrLine(id=i, text=text, confidence=0.95, box=BoundingBox(left=0.05 + 0.2 * i, top=0.05, width=0.05,
                                                                        height=0.8))


SHELF = [
    spine(0, "EL HOBBIT TOLKIEN MINOTAURO 821 Tol"),
    spine(1, "NINETEEN EIGHTY-FOUR GEORGE ORWELL 821 Orw"),
    spine(2, "LA SOMBRA DEL VIENTO CARLOS RUIZ ZAFON"),  # not in the catalog: Claude's
    spine(3, "EXIT"),  # too little text to be a title: nobody's
]


def claude_for(fake: FakeClaude) -> ClaudeCandidateBuilder:
    client = make_claude_client("anthropic", base_url=fake.url, api_key="test-key", timeout=30.0)
    return ClaudeCandidateBuilder(client, PROFILES, sleep=lambda _s: None)


def test_only_the_groups_the_catalog_cannot_resolve_reach_claude(fake_claude):
    # Given a shelf with two catalogued books, one uncatalogued book and a sign
    builder = HybridCandidateBuilder(CATALOG, claude_for(fake_claude))

    # When the hybrid builder reads it
    found = builder.build(SHELF, profile=AnalysisProfile.AUTO)

    # Then Claude was asked once, about the uncatalogued spine's line only
    assert len(fake_claude.bodies) == 1
    assert [row["text"] for row in ocr_lines_in(fake_claude.bodies[0])] == ["LA SOMBRA DEL VIENTO CARLOS RUIZ ZAFON"]
    # and every spine still comes out as a candidate, Claude's with its title
    assert sorted(i for c in found.candidates for i in c.evidence) == [0, 1, 2, 3]
    claude_book = next(c for c in found.candidates if c.evidence == [2])
    assert claude_book.title == "LA SOMBRA DEL VIENTO CARLOS RUIZ ZAFON"
    # and the usage is Claude's, for that one request
    assert found.usage.input_tokens > 0 and found.usage.output_tokens > 0
    assert found.provider == "hybrid+claude"


def test_a_shelf_the_catalog_resolves_never_calls_claude(fake_claude):
    # Given a shelf whose books are all in the catalog
    builder = HybridCandidateBuilder(CATALOG, claude_for(fake_claude))

    # When it is read
    found = builder.build(SHELF[:2], profile=AnalysisProfile.AUTO)

    # Then no request was made and the usage is zero
    assert fake_claude.bodies == []
    assert found.usage.input_tokens == 0 and found.usage.output_tokens == 0
    assert [c.evidence for c in found.candidates] == [[0], [1]]
    assert found.provider == "hybrid"


def test_claude_and_the_catalog_are_built_only_when_needed(fake_claude):
    # Given factories that count their calls
    built = {"catalog": 0, "claude": 0}

    def catalog():
        built["catalog"] += 1
        return CATALOG

    def claude():
        built["claude"] += 1
        return claude_for(fake_claude)

    builder = HybridCandidateBuilder.on_first_use(catalog, claude)

    # When only catalogued books are read, twice
    builder.build(SHELF[:2], profile=AnalysisProfile.AUTO)
    builder.build(SHELF[:2], profile=AnalysisProfile.AUTO)

    # Then the catalog was built once and Claude never
    assert built == {"catalog": 1, "claude": 0}


def test_catalog_lookups_are_cached(fake_claude):
    # Given a scorer that counts lookups
    calls = []

    def score(candidate, catalog):
        calls.append(candidate.text)
        from workers.catalog.matcher import score_candidate

        return score_candidate(candidate, catalog)

    builder = HybridCandidateBuilder(CATALOG, claude_for(fake_claude), score=score)

    # When the same shelf is read twice (a redelivery, or the same shelf photographed again)
    builder.build(SHELF[:2], profile=AnalysisProfile.AUTO)
    builder.build(SHELF[:2], profile=AnalysisProfile.AUTO)

    # Then each spine was looked up once
    assert len(calls) == 2
    assert builder.cache_hits == 2


def test_a_group_claude_does_not_claim_stays_as_the_offline_reading():
    # Given a Claude that recognises no book
    with FakeClaude(responder=lambda body: {"books": []}) as fake:
        builder = HybridCandidateBuilder(CATALOG, claude_for(fake))

        # When the uncatalogued spine is read
        found = builder.build([SHELF[2]], profile=AnalysisProfile.AUTO)

    # Then its offline candidate is kept for validation to judge
    assert [c.evidence for c in found.candidates] == [[2]]
    assert found.candidates[0].title is None


def test_the_residue_prompt_is_compact_and_carries_no_geometry():
    # Given two residue groups
    groups = [[SHELF[2]], [SHELF[0], SHELF[1]]]

    # When the user message is rendered
    content = residue_message(groups)["content"]

    # Then it lists id and text per row, by group
    assert content.splitlines() == [
        "Group 1:",
        "2\tLA SOMBRA DEL VIENTO CARLOS RUIZ ZAFON",
        "",
        "Group 2:",
        "0\tEL HOBBIT TOLKIEN MINOTAURO 821 Tol",
        "1\tNINETEEN EIGHTY-FOUR GEORGE ORWELL 821 Orw",
    ]


def test_title_letters_count_only_words_of_three_letters_or_more():
    assert title_letters("EXIT 823 Tol a") == 7
    assert title_letters("") == 0


def test_building_the_hybrid_builder_imports_neither_anthropic_nor_the_catalog():
    # Given a fresh interpreter, when the bedrock handler builds the hybrid builder
    import subprocess

    code = (
        "import sys\n"
        "from workers.common.settings import Settings\n"
        "from workers.bedrock.handler import make_builder\n"
        "make_builder(Settings(candidate_provider='hybrid', catalog_uri='x.csv'))\n"
        "print('anthropic' in sys.modules, 'workers.catalog.local' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    # Then neither was imported
    assert out == ["False", "False"]
