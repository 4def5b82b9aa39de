"""The shared photo as two shelves: cut at the board between them, each with its own truth list."""

from __future__ import annotations

import csv

import pytest
from PIL import Image

from bench.two_shelves import SHELVES, TRUTH_DIR, write_shelf_photos


def _rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return [(row["title"], row["author"]) for row in csv.DictReader(handle)]


def test_the_two_shelves_truth_lists_together_are_the_photos_truth_in_its_order():
    parts = [row for shelf in SHELVES for row in _rows(shelf.truth)]
    assert parts == _rows(TRUTH_DIR / "two_shelves_example.csv")
    assert all(_rows(shelf.truth) for shelf in SHELVES)


def test_each_shelf_is_cut_at_full_resolution_across_the_whole_width(tmp_path):
    # Given a photo 400 x 300 whose top half is red and bottom half blue
    photo = tmp_path / "shelves.jpg"
    picture = Image.new("RGB", (400, 300), "red")
    picture.paste(Image.new("RGB", (400, 150), "blue"), (0, 150))
    picture.save(photo)
    # When it is cut into its shelves
    cut = write_shelf_photos(photo, tmp_path)
    # Then each shelf keeps the photo's width and its own half
    assert [shelf.name for shelf, _ in cut] == ["top", "bottom"]
    top, bottom = (Image.open(path).convert("RGB") for _, path in cut)
    assert top.size == bottom.size == (400, 150)
    assert top.getpixel((200, 75))[0] > 200 and bottom.getpixel((200, 75))[2] > 200


def test_a_photo_that_is_not_an_image_is_refused_with_its_name(tmp_path):
    not_a_photo = tmp_path / "notes.jpg"
    not_a_photo.write_text("not a photo")
    with pytest.raises(ValueError, match="notes.jpg"):
        write_shelf_photos(not_a_photo, tmp_path)
