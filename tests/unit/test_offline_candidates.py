"""Offline candidate builder: OCR lines grouped into books by geometry; call numbers and ISBNs read."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw, ImageFont

from models import AnalysisProfile, BoundingBox, OcrLine, Point
from workers.bedrock.offline import (
    OfflineCandidateBuilder,
    candidate_from_text,
    find_call_number,
    find_isbn,
    group_lines,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Paul Krugman FUNDAMENTOS DE ECONOMÍA 330.1 Kru", "330.1 Kru"),
        ("MARIO BENEDETTI N Ben", "N Ben"),
        ("Roald Dahl JN Dah Matilda", "JN Dah"),
        ("9 Ben", "9 Ben"),
        ("NICOLÁS GUILLÉN P 834B Gui", "P 834B Gui"),
        ("Lobo 325.1(46) Paj", "325.1(46) Paj"),
        ("Les bruixes I** Dah", "I** Dah"),
        # the sans-serif I of a children's mark read as a bar
        ("Gemma Lienas Carlota |*** Lie", "I*** Lie"),
    ],
)
def test_call_numbers_are_read_from_spine_text(text: str, expected: str):
    assert find_call_number(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "ALEJANDRO PALOMAS 2018 Una madre",
        "El Secreto de La Quebradita",
        "Hygge",
        # 'El Día del Ajuste' with its 'l' lost: poetry's 'P' or a bare 'E' heads a label only before a class
        "PALAHNIUK E Día del Ajuste",
        "ORT | Iva",
    ],
)
def test_text_without_a_call_number_gives_none(text: str):
    assert find_call_number(text) is None


def test_an_isbn_is_kept_only_when_its_check_digit_holds():
    assert find_isbn("ISBN 978-84-16863-48-8 Rosling") == "9788416863488"
    assert find_isbn("ISBN 978-84-16863-48-7") is None


def test_a_candidate_from_text_carries_its_call_number_and_isbn():
    candidate = candidate_from_text("  Hans Rosling  FACTFULNESS 155 Ros 9788416863488 ")
    assert candidate.text == "Hans Rosling FACTFULNESS 155 Ros 9788416863488"
    assert (candidate.tag, candidate.isbn) == ("155 Ros", "9788416863488")


def _line(index: int, text: str, left: float, top: float, width: float, height: float) -> OcrLine:
    corners = [(left, top), (left + width, top), (left + width, top + height), (left, top + height)]
    return OcrLine(
        id=index,
        text=text,
        confidence=0.95,
        box=BoundingBox(left=left, top=top, width=width, height=height),
        polygon=[Point(x=x, y=y) for x, y in corners],
    )


def _two_spines_with_labels() -> list[OcrLine]:
    """Two upright spines (text rotated 90 degrees) side by side, each with its label below."""
    return [
        _line(0, "Alan Parks", 0.100, 0.10, 0.020, 0.15),
        _line(1, "Gener de sang", 0.100, 0.28, 0.020, 0.20),
        _line(2, "Marc Pastor", 0.160, 0.12, 0.020, 0.16),
        _line(3, "La mala dona", 0.181, 0.12, 0.020, 0.22),
        _line(4, "N Par", 0.098, 0.55, 0.025, 0.03),
        _line(5, "N Pas", 0.170, 0.55, 0.025, 0.03),
    ]


def test_spine_lines_and_their_labels_are_grouped_per_book():
    # Given two spines whose lines run along their length, and a call-number label under each
    groups = group_lines(_two_spines_with_labels())
    # Then each spine's lines and label form one group, the label last
    texts = sorted(" ".join(line.text for line in group) for group in groups)
    assert texts == ["Alan Parks Gener de sang N Par", "Marc Pastor La mala dona N Pas"]


def test_the_builder_returns_one_candidate_per_spine_with_its_evidence():
    result = OfflineCandidateBuilder().build(_two_spines_with_labels(), profile=AnalysisProfile.SPINES)
    by_tag = {c.tag: c for c in result.candidates}
    assert set(by_tag) == {"N Par", "N Pas"}
    assert sorted(by_tag["N Pas"].evidence) == [2, 3, 5]
    assert by_tag["N Pas"].box is not None and 0 < by_tag["N Pas"].confidence <= 1


def test_label_distances_are_measured_in_the_photos_proportions_not_its_normalised_units():
    # Given a 4:3 photo: one spine stroke 0.01 of the width thick, and its label 0.145 of the height below
    # it: 11 strokes' thickness in pixels, but 14.5 in units normalised separately to width and height
    lines = [
        _line(0, "José Ovejero Insurrección", 0.290, 0.19, 0.010, 0.12),
        _line(1, "N Ove", 0.292, 0.437, 0.010, 0.037),
    ]
    # Then the label joins its spine once the builder knows the photo's proportions
    assert len(OfflineCandidateBuilder().build(lines, profile=AnalysisProfile.SPINES).candidates) == 2
    [book] = OfflineCandidateBuilder().build(lines, profile=AnalysisProfile.SPINES, aspect=4 / 3).candidates
    assert (book.text, book.tag) == ("José Ovejero Insurrección N Ove", "N Ove")


def test_a_title_in_display_type_does_not_absorb_the_small_print_of_the_thin_spine_beside_it():
    # Given a spine whose title in display type is as thick as its whole spine, and beside it a thin spine
    # in small print, one text height away from the big title's edge
    lines = [
        _line(0, "EL DIJOUS SEGÜENT", 0.100, 0.10, 0.060, 0.40),
        _line(1, "Amos Oz La caixa negra", 0.175, 0.12, 0.015, 0.30),
    ]
    # Then they are two books
    assert sorted(len(group) for group in group_lines(lines)) == [1, 1]


def test_lines_of_one_spine_in_two_sizes_stay_together():
    # Given a display-type title and, right beside it on the same spine, the author in small print
    lines = [
        _line(0, "EL DIJOUS SEGÜENT", 0.100, 0.10, 0.060, 0.40),
        _line(1, "RICHARD OSMAN", 0.161, 0.15, 0.015, 0.20),
    ]
    assert len(group_lines(lines)) == 1


def test_a_group_holding_two_stickers_is_split_into_two_spines():
    # Given two thin spines read as one group (their lines touch) with a call-number sticker under each
    lines = [
        _line(0, "Pàmies Cançons d'amor", 0.100, 0.10, 0.020, 0.30),
        _line(1, "Si menges una llimona", 0.121, 0.10, 0.020, 0.30),
        _line(2, "N Pam", 0.095, 0.45, 0.018, 0.03),
        _line(3, "N Pam", 0.125, 0.45, 0.018, 0.03),
    ]
    # Then each sticker takes the lines nearest it across the shelf
    texts = sorted(" ".join(line.text for line in group) for group in group_lines(lines))
    assert texts == ["Pàmies Cançons d'amor N Pam", "Si menges una llimona N Pam"]


def test_a_candidate_carries_its_spines_outline_turned_with_it():
    # Given a leaning spine: its line runs at an angle
    line = OcrLine(id=0, text="Gener de sang", confidence=0.9,
                   box=BoundingBox(left=0.1, top=0.1, width=0.1, height=0.3),
                   polygon=[Point(x=0.18, y=0.1), Point(x=0.2, y=0.11), Point(x=0.12, y=0.4), Point(x=0.1, y=0.39)])
    [candidate] = OfflineCandidateBuilder().build([line], profile=AnalysisProfile.SPINES).candidates
    # Then its outline follows the line, not the upright box around it
    assert len(candidate.polygon) == 4
    corners = candidate.polygon
    area = abs(sum(a.x * b.y - b.x * a.y for a, b in zip(corners, corners[1:] + corners[:1], strict=True))) / 2
    assert area < 0.5 * candidate.box.width * candidate.box.height


def test_groups_with_no_word_are_left_unassigned():
    lines = [*_two_spines_with_labels(), _line(6, "| 1 :", 0.6, 0.6, 0.02, 0.02)]
    result = OfflineCandidateBuilder().build(lines, profile=AnalysisProfile.SPINES)
    assert result.unassigned_lines == ["| 1 :"]
    assert len(result.candidates) == 2


def _shelf_image() -> bytes:
    """A white card with one horizontal title and one spine whose text runs bottom to top."""
    font = ImageFont.load_default(size=34)
    canvas = Image.new("RGB", (640, 480), "white")
    ImageDraw.Draw(canvas).text((30, 30), "BIBLIOTECA MUNICIPAL", fill="black", font=font)
    spine = Image.new("RGB", (380, 56), "white")
    ImageDraw.Draw(spine).text((8, 8), "GENER DE SANG", fill="black", font=font)
    canvas.paste(spine.rotate(90, expand=True), (500, 80))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()


def test_rapidocr_reads_horizontal_and_rotated_spine_text():
    from workers.textract.rapid import RapidOcrEngine

    # Given a synthetic shelf image with a horizontal caption and a spine rotated 90 degrees
    output = RapidOcrEngine(max_side=640).read(_shelf_image(), width=640, height=480)
    texts = {line.text.upper().replace(" ", "") for line in output.lines}
    # Then both are read, and the rotated one sits where the spine was pasted, as a tall box
    assert "BIBLIOTECAMUNICIPAL" in texts
    spine = next(line for line in output.lines if "SANG" in line.text.upper())
    assert spine.box.left > 0.7 and spine.box.height > spine.box.width
    assert all(0 <= p.x <= 1 and 0 <= p.y <= 1 for p in spine.polygon) and 0 < spine.confidence <= 1


def test_rapidocr_reads_the_photo_at_the_size_the_engine_was_given():
    import numpy as np

    from workers.textract.rapid import DEFAULT_MAX_SIDE, _load_engine

    # RapidOCR's own default would shrink a photo over 2000 px again before detecting text on it
    engine = _load_engine()
    photo = np.zeros((DEFAULT_MAX_SIDE * 3 // 4, DEFAULT_MAX_SIDE, 3), dtype=np.uint8)
    detected_on, _ = engine.preprocess_img(photo)
    assert detected_on.shape == photo.shape
