"""Synthetic library shelf photos drawn from a catalog, with the truth of what stands where.

Only two real shelf photos are public, so photo figures tuned on them say little about the next shelf.
A shelf drawn from random books of the catalog, on a fresh seed each run, cannot be tuned to: it asks
whether identification generalises. The drawing imitates what makes real shelves hard (DESIGN.md 5b):
text running both ways along spines of every thickness, display type and small print, titles on two
lines, call-number stickers, covers facing out, worn spines, occlusion, perspective, blur, uneven
light and JPEG noise. Nothing here talks to AWS.
"""

from __future__ import annotations

import colorsys
import csv
import io
import math
import random
import re
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import NamedTuple

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

from workers.catalog.call_numbers import parse_call_number, sort_key

CATALOG_COLUMNS = ("title", "author", "tag")
TRUTH_FIELDS = ("title", "author", "tag", "isbn", "kind", "worn", "shelf", "left", "top", "width", "height")

TITLE_FONTS = (
    ("font_roboto", "Roboto-Bold.ttf"), ("font_roboto", "Roboto-Black.ttf"), ("font_roboto", "Roboto-Regular.ttf"),
    ("font_lato", "Lato-Black.ttf"), ("font_lato", "Lato-Bold.ttf"), ("font_lato", "Lato-Italic.ttf"),
    ("font_caladea", "Caladea-Bold.ttf"), ("font_caladea", "Caladea-Regular.ttf"),
    ("font_caladea", "Caladea-BoldItalic.ttf"), ("font_fjallaone", "FjallaOne-Regular.ttf"),
    ("font_source_sans_pro", "SourceSansPro-Semibold.ttf"), ("font_source_serif_pro", "SourceSerifPro-Bold.ttf"),
    ("font_source_serif_pro", "SourceSerifPro-Regular.ttf"), ("font_rhd", "RedHatDisplay-Black.ttf"),
    ("font_rhd", "RedHatDisplay-MediumItalic.ttf"),
)
AUTHOR_FONTS = (
    ("font_roboto", "Roboto-Regular.ttf"), ("font_roboto", "Roboto-Light.ttf"), ("font_lato", "Lato-Regular.ttf"),
    ("font_caladea", "Caladea-Italic.ttf"), ("font_source_sans_pro", "SourceSansPro-Regular.ttf"),
    ("font_source_serif_pro", "SourceSerifPro-It.ttf"), ("font_rhd", "RedHatDisplay-Regular.ttf"),
)
STICKER_FONTS = (("font_roboto", "Roboto-Bold.ttf"), ("font_lato", "Lato-Bold.ttf"),
                 ("font_source_sans_pro", "SourceSansPro-Semibold.ttf"))

PHOTO_WIDTHS = (3000, 4600)
"""Phone photos: the OCR reads them at 2200 px on the long side, so the drawing must survive that shrink."""
SPINES_PER_SHELF = (12, 25)
COVER_SHARE = 0.3
"""Share of shelves with one book facing out."""
WORN_SHARE = 0.05
"""Share of spines too worn to read; they stay in the truth, so a worn book is a miss."""
OCCLUSION_SHARE = 0.35
"""Share of shelves where something covers part of a spine."""


class ShelfInputError(ValueError):
    """A catalog the shelves cannot be drawn from."""


@dataclass(frozen=True)
class ShelfBook:
    title: str
    author: str
    tag: str
    isbn: str


@dataclass(frozen=True)
class TruthRow:
    title: str
    author: str
    tag: str
    isbn: str
    kind: str  # "spine" or "cover"
    worn: bool
    shelf: int
    left: int
    top: int
    width: int
    height: int


class ShelfPhoto(NamedTuple):
    jpeg: bytes
    truth: list[TruthRow]


def read_catalog(path: str | Path) -> list[ShelfBook]:
    """The catalog's books, refused with the reason when a shelf cannot be drawn from it."""
    path = Path(path)
    if not path.is_file():
        raise ShelfInputError(f"no such catalog: {path}")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in CATALOG_COLUMNS if name not in (reader.fieldnames or ())]
        if missing:
            found = ", ".join(reader.fieldnames or ()) or "none: the file is empty"
            raise ShelfInputError(f"{path} lacks column(s) {', '.join(missing)} (its columns: {found}); "
                                  "a library shelf needs the call number (tag) to be shelved by")
        books = [ShelfBook(title=(row.get("title") or "").strip(), author=(row.get("author") or "").strip(),
                           tag=(row.get("tag") or "").strip(), isbn=(row.get("isbn") or "").strip())
                 for row in reader]
    books = [book for book in books if book.title]
    if not books:
        raise ShelfInputError(f"{path} holds no book with a title")
    return books


def call_number_key(tag: str) -> tuple[str, ...]:
    """How the library orders call numbers (`workers.catalog.call_numbers`, which the shelf audit judges by):
    collection, class, then the author or title mark."""
    parsed = parse_call_number(tag)
    return sort_key(parsed) if parsed else ("", "", tag.casefold(), "")


def pick_books(catalog: list[ShelfBook], count: int, rng: random.Random, *, home: bool = False) -> list[ShelfBook]:
    """The books of one photo, left to right: a contiguous run of the catalog in call-number order, from a
    random place (a library shelf), or any books in any order (a home shelf)."""
    count = min(count, len(catalog))
    if home:
        return rng.sample(catalog, count)
    ordered = sorted(catalog, key=lambda book: (call_number_key(book.tag), book.title.casefold()))
    start = rng.randrange(len(ordered) - count + 1)
    return ordered[start:start + count]


@lru_cache(maxsize=512)
def _font(package: str, name: str, size: int) -> ImageFont.FreeTypeFont:
    with resources.as_file(resources.files(package) / "files" / name) as path:
        return ImageFont.truetype(str(path), size)


def main_title(title: str) -> str:
    """What a spine shows of a catalog title: the main title, not the subtitle after ' : '."""
    return re.split(r"\s+[:;/=]\s*", title.strip(), maxsplit=1)[0].strip() or title.strip()


def spine_author(author: str, rng: random.Random) -> str:
    """An author as publishers print it: 'Eckhart Tolle', 'TOLLE' or 'E. Tolle', never 'Tolle, Eckhart, 1948-'."""
    parts = [p.strip() for p in author.split(",") if p.strip() and not re.search(r"\d", p)]
    if not parts:
        return ""
    surname, forenames = parts[0], " ".join(parts[1:2])
    style = rng.random()
    if style < 0.25 or not forenames:
        return surname.upper()
    if style < 0.4:
        return f"{forenames[0]}. {surname}"
    return f"{forenames} {surname}"


def _colours(rng: random.Random) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(spine, text): light text on a dark spine or dark on a light one."""
    hue = rng.random()
    saturation = rng.uniform(0.1, 0.8)
    dark = rng.random() < 0.55
    value = rng.uniform(0.12, 0.4) if dark else rng.uniform(0.7, 0.97)
    spine = _hsv(hue, saturation, value)
    if dark:
        text = _hsv(rng.random(), rng.uniform(0, 0.3), rng.uniform(0.85, 1.0))
    else:
        text = _hsv(rng.random(), rng.uniform(0, 0.6), rng.uniform(0.0, 0.25))
    return spine, text


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return round(r * 255), round(g * 255), round(b * 255)


def _fit(text: str, face: tuple[str, str], length: float, size: int, min_size: int) -> tuple[str, int]:
    """The largest size (down to min_size) at which text fits length; words dropped from the end if even
    min_size does not fit, as publishers shorten a long title on a thin spine."""
    while size > min_size and _font(*face, size).getlength(text) > length:
        size = max(min_size, int(size * 0.9))
    words = text.split()
    while len(words) > 1 and _font(*face, size).getlength(" ".join(words)) > length:
        words.pop()
    return " ".join(words), size


def _split_two_lines(text: str) -> tuple[str, str] | None:
    words = text.split()
    if len(words) < 2:
        return None
    best = min(range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - len(" ".join(words[i:]))))
    return " ".join(words[:best]), " ".join(words[best:])


def _spine_strip(book: ShelfBook, length: int, thickness: int, text: tuple[int, int, int],
                 rng: random.Random) -> Image.Image:
    """The spine's lettering on a transparent strip laid horizontally: length along the spine, thickness across."""
    strip = Image.new("RGBA", (length, thickness), (0, 0, 0, 0))
    draw = ImageDraw.Draw(strip)
    title = main_title(book.title)
    if rng.random() < 0.5:
        title = title.upper()
    author = spine_author(book.author, rng)
    title_face, author_face = rng.choice(TITLE_FONTS), rng.choice(AUTHOR_FONTS)
    margin = int(length * rng.uniform(0.04, 0.1))
    usable = length - 2 * margin
    min_size = max(14, int(thickness * 0.16))
    layout = rng.random()
    lines = _split_two_lines(title) if layout < 0.25 and thickness >= 90 else None
    if lines:  # a title on two lines across the spine, the author along the far end
        size = int(thickness * rng.uniform(0.28, 0.36))
        author_size = max(min_size, int(thickness * 0.22))
        author_room = _font(*author_face, author_size).getlength(author) + margin if author else 0
        first, size = _fit(lines[0], title_face, usable - author_room, size, min_size)
        second, size = _fit(lines[1], title_face, usable - author_room, size, min_size)
        for row, line in ((0.3, first), (0.7, second)):
            draw.text((margin, thickness * row), line, font=_font(*title_face, size), fill=text, anchor="lm")
        if author:
            draw.text((length - margin, thickness / 2), author, font=_font(*author_face, author_size),
                      fill=text, anchor="rm")
        return strip
    if layout < 0.45 and thickness >= 140 and author:  # title over author, both across the spine
        size = int(thickness * rng.uniform(0.35, 0.45))
        line, size = _fit(title, title_face, usable, size, min_size)
        author_line, author_size = _fit(author, author_face, usable, int(thickness * 0.22), min_size)
        draw.text((margin, thickness * 0.36), line, font=_font(*title_face, size), fill=text, anchor="lm")
        draw.text((margin, thickness * 0.78), author_line, font=_font(*author_face, author_size), fill=text,
                  anchor="lm")
        return strip
    # one line: the title from display type filling the spine to small print, the author smaller after it
    size = int(thickness * rng.uniform(0.3, 0.72))
    author_size = max(min_size, min(int(size * rng.uniform(0.45, 0.7)), int(thickness * 0.4)))
    author_room = _font(*author_face, author_size).getlength(author) + 2 * margin if author else 0
    line, size = _fit(title, title_face, max(usable - author_room, usable * 0.5), size, min_size)
    draw.text((margin, thickness / 2), line, font=_font(*title_face, size), fill=text, anchor="lm")
    if author:
        author_line, author_size = _fit(author, author_face, length - margin - _font(*title_face, size).getlength(line)
                                        - 3 * margin, author_size, min_size)
        if author_line:
            draw.text((length - margin, thickness / 2), author_line, font=_font(*author_face, author_size),
                      fill=text, anchor="rm")
    return strip


def _sticker(tag: str, spine_width: int, unit: float, rng: random.Random) -> Image.Image:
    """The white call-number label: class over mark, black, horizontal."""
    parts = tag.split()
    lines = [" ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts
    width = int(min(spine_width * 0.9, 150 * unit * rng.uniform(0.9, 1.15)))
    face = rng.choice(STICKER_FONTS)
    size = int(40 * unit)
    while size > 8 and max(_font(*face, size).getlength(line) for line in lines) > width * 0.88:
        size -= 1
    height = int(size * (1.25 * len(lines) + 0.6))
    sticker = Image.new("RGB", (width, height), _hsv(0.12, rng.uniform(0, 0.08), rng.uniform(0.9, 1.0)))
    draw = ImageDraw.Draw(sticker)
    for index, line in enumerate(lines):
        draw.text((width / 2, size * (0.55 + 1.25 * (index + 0.5))), line, font=_font(*face, size),
                  fill=(15, 15, 20), anchor="mm")
    return sticker


def _spine(book: ShelfBook, width: int, height: int, unit: float, rng: random.Random, *, sticker: bool,
           worn: bool) -> Image.Image:
    colour, text = _colours(rng)
    spine = Image.new("RGB", (width, height), colour)
    sticker_zone = 0
    if sticker and book.tag:
        label = _sticker(book.tag, width, unit, rng)
        bottom = int(height * rng.uniform(0.03, 0.08))
        spine.paste(label, ((width - label.width) // 2, height - bottom - label.height))
        sticker_zone = bottom + label.height + int(20 * unit)
    top_margin = int(height * rng.uniform(0.02, 0.06))
    length = height - sticker_zone - top_margin
    strip = _spine_strip(book, length, width, text, rng)
    bottom_to_top = rng.random() < 0.6
    turned = strip.rotate(90 if bottom_to_top else -90, expand=True)
    spine.paste(turned, (0, top_margin), turned)
    draw = ImageDraw.Draw(spine)  # a band at head and foot, as many bindings have
    if rng.random() < 0.4:
        band = max(3, int(height * 0.012))
        for y in (int(height * 0.02), height - int(height * 0.02) - band):
            draw.rectangle((0, y, width, y + band), fill=text)
    if worn:
        spine = ImageEnhance.Contrast(spine).enhance(rng.uniform(0.08, 0.18))
        spine = spine.filter(ImageFilter.GaussianBlur(rng.uniform(4, 7) * unit))
    return _shade_round(spine)


def _shade_round(spine: Image.Image) -> Image.Image:
    """A spine is rounded: darker at its edges than in the middle."""
    width = spine.width
    profile = Image.new("L", (width, 1))
    profile.putdata([int(255 * (0.7 + 0.3 * math.sin(math.pi * (x + 0.5) / width))) for x in range(width)])
    shade = profile.resize(spine.size)
    return Image.composite(spine, Image.new("RGB", spine.size, (0, 0, 0)), shade)


def _cover(book: ShelfBook, width: int, height: int, unit: float, rng: random.Random) -> Image.Image:
    """A book facing out: upright title, author below."""
    colour, text = _colours(rng)
    cover = Image.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(cover)
    face, author_face = rng.choice(TITLE_FONTS), rng.choice(AUTHOR_FONTS)
    margin = int(width * 0.08)
    title = main_title(book.title)
    size = int(width * rng.uniform(0.09, 0.14))
    words, lines = title.split(), []
    while words and len(lines) < 4:
        line = [words.pop(0)]
        while words and _font(*face, size).getlength(" ".join([*line, words[0]])) <= width - 2 * margin:
            line.append(words.pop(0))
        lines.append(" ".join(line))
    y = height * rng.uniform(0.12, 0.25)
    for line in lines:
        fitted, fitted_size = _fit(line, face, width - 2 * margin, size, 12)
        draw.text((width / 2, y), fitted, font=_font(*face, fitted_size), fill=text, anchor="mt")
        y += size * 1.2
    author = spine_author(book.author, rng)
    if author:
        author_line, author_size = _fit(author, author_face, width - 2 * margin, int(size * 0.55), 12)
        draw.text((width / 2, height * rng.uniform(0.75, 0.88)), author_line, font=_font(*author_face, author_size),
                  fill=text, anchor="mm")
    if rng.random() < 0.5:  # a picture block between title and author
        top = int(min(y + size * 0.5, height * 0.55))
        draw.rectangle((margin, top, width - margin, int(height * 0.68)), fill=_colours(rng)[0])
    return cover


def _wall(size: tuple[int, int], rng: random.Random) -> Image.Image:
    base = _hsv(rng.uniform(0.05, 0.12), rng.uniform(0.2, 0.5), rng.uniform(0.12, 0.3))
    return Image.new("RGB", size, base)


def _homography(source: list[tuple[float, float]], target: list[tuple[float, float]]) -> list[float]:
    """The 8 coefficients of the projective map taking four source points to four target points."""
    import numpy as np

    rows, values = [], []
    for (x, y), (u, v) in zip(source, target, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values += [u, v]
    return [float(c) for c in np.linalg.solve(np.array(rows), np.array(values))]


def _project(coefficients: list[float], x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f, g, h = coefficients
    denominator = g * x + h * y + 1
    return (a * x + b * y + c) / denominator, (d * x + e * y + f) / denominator


def _uneven_light(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """A smooth brightness field: a lamp off to one side and a darker corner."""
    small_w, small_h = 32, 24
    cx, cy = rng.uniform(-0.2, 1.2), rng.uniform(-0.2, 1.2)
    spread = rng.uniform(0.6, 1.4)
    low = rng.uniform(0.55, 0.8)
    field = Image.new("L", (small_w, small_h))
    values = []
    for j in range(small_h):
        for i in range(small_w):
            distance = math.hypot(i / (small_w - 1) - cx, j / (small_h - 1) - cy) / spread
            values.append(int(255 * max(low, min(1.0, 1.05 - (1.05 - low) * distance))))
    field.putdata(values)
    return field.resize(size, Image.BICUBIC)


def render_shelf(books: list[ShelfBook], rng: random.Random, *, width: int | None = None, shelves: int = 1,
                 home: bool = False) -> ShelfPhoto:
    """A phone photo of `books` standing left to right on `shelves` shelves (split in order), and its truth.

    A library shelf carries call-number stickers; a home shelf (`home`) has none. Truth boxes are in the
    photo's pixels, perspective included."""
    if not books:
        raise ShelfInputError("a shelf needs at least one book")
    if shelves not in (1, 2):
        raise ShelfInputError("a photo holds one or two shelves")
    width = width or rng.randint(*PHOTO_WIDTHS)
    height = int(width * 0.75)
    unit = width / 4000
    photo = _wall((width, height), rng)
    draw = ImageDraw.Draw(photo)
    board = int(height * (0.045 if shelves == 1 else 0.035))
    row_height = height // shelves
    per_shelf = [books[: math.ceil(len(books) / shelves)], books[math.ceil(len(books) / shelves):]][:shelves]
    wood = _hsv(rng.uniform(0.06, 0.1), rng.uniform(0.35, 0.6), rng.uniform(0.35, 0.65))
    truth: list[TruthRow] = []
    for shelf_index, shelf_books in enumerate(per_shelf):
        row_top = shelf_index * row_height
        floor = row_top + row_height - board
        draw.rectangle((0, floor, width, row_top + row_height), fill=wood)
        draw.rectangle((0, floor, width, floor + max(2, board // 6)), fill=tuple(int(c * 0.7) for c in wood))
        if not shelf_books:
            continue
        cover_at = rng.randrange(len(shelf_books)) if rng.random() < COVER_SHARE and len(shelf_books) > 3 else -1
        clear = row_height - board - int(row_height * 0.05)
        heights = [int(clear * rng.uniform(0.72, 0.98)) for _ in shelf_books]
        if cover_at >= 0:  # a book facing out stands lower than the tall spines around it
            heights[cover_at] = int(clear * rng.uniform(0.55, 0.72))
        cover_width = int(heights[cover_at] * rng.uniform(0.62, 0.7)) if cover_at >= 0 else 0
        raw = [rng.lognormvariate(0, 0.45) for _ in shelf_books]
        fill = rng.uniform(0.8, 0.96) * width - cover_width
        spine_total = sum(r for i, r in enumerate(raw) if i != cover_at)
        widths = [cover_width if i == cover_at else max(int(45 * unit), int(fill * r / spine_total))
                  for i, r in enumerate(raw)]
        gaps = [rng.randint(0, int(8 * unit) + 1) for _ in shelf_books]
        x = max(0, int((width - sum(widths) - sum(gaps)) * rng.uniform(0.1, 0.9)))
        placed = []
        for index, book in enumerate(shelf_books):
            w, h = widths[index], heights[index]
            is_cover = index == cover_at
            worn = not is_cover and rng.random() < WORN_SHARE
            if is_cover:
                picture = _cover(book, w, h, unit, rng)
                lean = 0.0
            else:
                picture = _spine(book, w, h, unit, rng, sticker=not home, worn=worn)
                lean = rng.uniform(-1.2, 1.2)
            rgba = picture.convert("RGBA").rotate(lean, expand=True, resample=Image.BICUBIC)
            left, top = x - (rgba.width - w) // 2, floor - rgba.height + (rgba.height - h) // 2
            photo.paste(rgba, (left, top), rgba)
            placed.append((book, is_cover, worn, left, top, rgba.width, rgba.height))
            x += w + gaps[index]
        if rng.random() < OCCLUSION_SHARE:  # a bookend, a box or a hand across part of a spine
            _, _, _, left, top, w, h = placed[rng.randrange(len(placed))]
            band = int(h * rng.uniform(0.15, 0.35))
            y = top if rng.random() < 0.5 else top + int(h * rng.uniform(0.3, 0.5))
            grey = rng.randint(30, 200)
            draw.rectangle((left - int(w * rng.uniform(0.2, 1.0)), y, left + int(w * rng.uniform(0.5, 1.2)), y + band),
                           fill=(grey, grey, int(grey * 0.9)))
        truth += [TruthRow(book.title, book.author, book.tag, book.isbn, "cover" if is_cover else "spine", worn,
                           shelf_index, left, top, w, h) for book, is_cover, worn, left, top, w, h in placed]

    photo = Image.composite(photo, Image.new("RGB", photo.size, (0, 0, 0)), _uneven_light(photo.size, rng))
    jitter = 0.025
    corners = [(0.0, 0.0), (width, 0.0), (width, height), (0.0, height)]
    moved = [(cx + rng.uniform(-jitter, jitter) * width, cy + rng.uniform(-jitter, jitter) * height)
             for cx, cy in corners]
    photo = photo.transform(photo.size, Image.PERSPECTIVE, _homography(moved, corners), Image.BILINEAR,
                            fillcolor=(20, 18, 16))
    forward = _homography(corners, moved)
    truth = [_moved_box(row, forward, width, height) for row in truth]
    blur = rng.uniform(0.0, 1.4) * unit
    if blur > 0.3:
        photo = photo.filter(ImageFilter.GaussianBlur(blur))
    photo = _noisy(photo, rng.uniform(2.0, 7.0), rng)
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=rng.randint(72, 92))
    return ShelfPhoto(out.getvalue(), truth)


def _moved_box(row: TruthRow, forward: list[float], width: int, height: int) -> TruthRow:
    points = [_project(forward, x, y)
              for x in (row.left, row.left + row.width) for y in (row.top, row.top + row.height)]
    left = max(0, min(width, round(min(p[0] for p in points))))
    top = max(0, min(height, round(min(p[1] for p in points))))
    right = max(0, min(width, round(max(p[0] for p in points))))
    bottom = max(0, min(height, round(max(p[1] for p in points))))
    return TruthRow(**{**asdict(row), "left": left, "top": top, "width": right - left, "height": bottom - top})


def _noisy(photo: Image.Image, sigma: float, rng: random.Random) -> Image.Image:
    import numpy as np

    pixels = np.asarray(photo, dtype=np.float32)
    noise = np.random.default_rng(rng.getrandbits(32)).standard_normal(pixels.shape, dtype=np.float32)
    noise *= sigma
    noise += pixels
    np.clip(noise, 0, 255, out=noise)
    return Image.fromarray(noise.astype(np.uint8))


def write_truth(truth: list[TruthRow], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=TRUTH_FIELDS)
        writer.writeheader()
        writer.writerows(asdict(row) for row in truth)


@dataclass(frozen=True)
class ShelfPlan:
    """What one synthetic photo holds: enough to draw it again from its seed."""

    seed: str
    home: bool
    shelves: int
    books: int
    turn: int = 0
    """Degrees the photo was turned counter-clockwise after drawing: a shelf photographed on its side."""


def plan_shelf(seed: str, rng: random.Random, *, home_share: float, two_shelf_share: float) -> ShelfPlan:
    """How many shelves and books one photo holds, and whether it is a home shelf."""
    shelves = 2 if rng.random() < two_shelf_share else 1
    books = sum(rng.randint(*SPINES_PER_SHELF) for _ in range(shelves))
    return ShelfPlan(seed=seed, home=rng.random() < home_share, shelves=shelves, books=books)


def make_shelf_photo(catalog: list[ShelfBook], seed: str, *, home_share: float = 0.1,
                     two_shelf_share: float = 0.3, sideways_share: float = 0.0, books: int | None = None,
                     width: int | None = None) -> tuple[ShelfPlan, ShelfPhoto]:
    """One photo drawn from `seed` alone, so any shelf of a run can be drawn again. Whether it is turned on its
    side is drawn apart (`sideways_share`), so a seed draws the same shelves whatever that share."""
    rng = random.Random(seed)
    plan = plan_shelf(seed, rng, home_share=home_share, two_shelf_share=two_shelf_share)
    if books is not None:
        plan = ShelfPlan(seed=seed, home=plan.home, shelves=plan.shelves, books=books)
    chosen = pick_books(catalog, plan.books, rng, home=plan.home)
    photo = render_shelf(chosen, rng, width=width, shelves=plan.shelves, home=plan.home)
    sideways = random.Random(f"{seed}-sideways")
    if sideways.random() < sideways_share:
        plan = replace(plan, turn=sideways.choice((90, 270)))
        photo = turned_photo(photo, plan.turn)
    return plan, photo


def turned_photo(photo: ShelfPhoto, turn: int) -> ShelfPhoto:
    """The photo turned `turn` degrees counter-clockwise (90 or 270), its truth boxes with it."""
    with Image.open(io.BytesIO(photo.jpeg)) as picture:
        width, height = picture.size
        out = io.BytesIO()
        picture.rotate(turn, expand=True).save(out, "JPEG", quality=92)
    truth = []
    for row in photo.truth:
        if turn == 90:  # the pixel (x, y) goes to (y, width - x)
            left, top = row.top, width - row.left - row.width
        else:  # (x, y) goes to (height - y, x)
            left, top = height - row.top - row.height, row.left
        truth.append(replace(row, left=left, top=top, width=row.height, height=row.width))
    return ShelfPhoto(out.getvalue(), truth)


def inside(point: tuple[float, float], corners: list[tuple[float, float]]) -> bool:
    """Whether a point lies in a convex outline (corners in order, either way round)."""
    signs = set()
    for (ax, ay), (bx, by) in zip(corners, corners[1:] + corners[:1], strict=True):
        cross = (bx - ax) * (point[1] - ay) - (by - ay) * (point[0] - ax)
        if cross:
            signs.add(cross > 0)
    return len(signs) <= 1


def spines_found(photo: Path, truth_csv: Path, outlines: list[list[tuple[float, float]]]) -> tuple[int, int]:
    """(spines found, spines drawn): a drawn spine is found when the middle of its box lies in the outline of
    something the result reports, a book or a spine it could not name. Books the grouping joins or splits, or
    whose text vanishes, show here even when the catalog step is not to blame."""
    with Image.open(photo) as picture:
        width, height = picture.size
    with open(truth_csv, newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["kind"] == "spine"]
    found = 0
    for row in rows:
        middle = ((int(row["left"]) + int(row["width"]) / 2) / width,
                  (int(row["top"]) + int(row["height"]) / 2) / height)
        found += any(inside(middle, corners) for corners in outlines)
    return found, len(rows)
