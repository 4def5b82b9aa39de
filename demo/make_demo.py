"""Deterministic generator for BookImg's demo assets.

Run ``python -m demo.make_demo`` from the repository root (or ``python -m demo.make_demo OUT_DIR``) to
(re)write:

- ``catalog.csv``: a small library catalog (title, author, tag, series, isbn) in the style of a public
  library inventory: titles in Spanish, Catalan and English, ``Surname, Name, birth-death`` authors,
  a call-number tag (class number + first three letters of the surname) and ISBN-13s with valid check
  digits. The books are real, well-known ones; the ISBNs are invented (valid, not the real editions').
  It contains deliberate near-duplicates: several books by one author, titles that are substrings of
  other titles (``Dune`` / ``Dune Messiah``), two editions of the same book, a Catalan original and its
  Spanish translation, and two authors sharing a tag (``860 Gar``: García Márquez and García Lorca).
- ``shelf.jpg``: a synthetic photo of one shelf, spines upright with their text printed vertically
  (most read bottom-to-top, a few top-to-bottom), a white call-number label near the bottom of each
  spine, and two books that are NOT in the catalog.
- ``shelf_truth.csv``: the in-catalog books of ``shelf.jpg``, left to right (title, author, isbn).
- ``cover.jpg``: one front cover (title big, author below) of a catalog book.

Everything is drawn from a fixed seed, so re-running produces byte-identical CSVs (and, with the same
Pillow/libjpeg and fonts, identical images). Only Pillow is needed.
"""

from __future__ import annotations

import csv
import io
import math
import random
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

SEED = 20240611
DEMO_DIR = Path(__file__).resolve().parent
CATALOG_FIELDS = ["title", "author", "tag", "series", "isbn"]
TRUTH_FIELDS = ["title", "author", "isbn"]

SHELF_SIZE = (2400, 1600)
JPEG_QUALITY = 88
LEAN_DEGREES = 2.5
CAMERA_ROLL_DEGREES = 0.8

FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu")]


# --------------------------------------------------------------------------------------------------
# Catalog
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Book:
    title: str
    author: str
    cls: str  # class number of the call number; tag = f"{cls} {surname[:3]}"
    series: str
    lang: str  # "es", "ca" or "en": only picks a plausible ISBN prefix

    @property
    def surname(self) -> str:
        return self.author.split(",")[0].strip()

    @property
    def tag(self) -> str:
        return f"{self.cls} {tag_letters(self.surname)}"


GGM = "García Márquez, Gabriel, 1927-2014"
ORWELL = "Orwell, George, 1903-1950"
AUSTEN = "Austen, Jane, 1775-1817"
HERBERT = "Herbert, Frank, 1920-1986"
HEMINGWAY = "Hemingway, Ernest, 1899-1961"
HUXLEY = "Huxley, Aldous, 1894-1963"
ROWLING = "Rowling, J. K., 1965-"
TOLKIEN = "Tolkien, J. R. R., 1892-1973"
CERVANTES = "Cervantes Saavedra, Miguel de, 1547-1616"
BORGES = "Borges, Jorge Luis, 1899-1986"
DELIBES = "Delibes, Miguel, 1920-2010"
LORCA = "García Lorca, Federico, 1898-1936"
RODOREDA = "Rodoreda, Mercè, 1908-1983"
CABRE = "Cabré, Jaume, 1947-"
SAINT_EX = "Saint-Exupéry, Antoine de, 1900-1944"
HARARI = "Harari, Yuval Noah, 1976-"

BOOKS: list[Book] = [
    # English-language literature (and Spanish translations of it)
    Book("1984", ORWELL, "821", "Contemporánea (Debolsillo)", "es"),
    Book("Nineteen Eighty-Four", ORWELL, "821", "Penguin Modern Classics", "en"),
    Book("Rebelión en la granja", ORWELL, "821", "Contemporánea (Debolsillo)", "es"),
    Book("Pride and Prejudice", AUSTEN, "821", "Penguin Classics", "en"),
    Book("Orgullo y prejuicio", AUSTEN, "821", "Clásicos (Alba)", "es"),
    Book("Emma", AUSTEN, "821", "Penguin Classics", "en"),
    Book("Dune", HERBERT, "821", "Nova (Ediciones B)", "es"),
    Book("Dune Messiah", HERBERT, "821", "", "en"),
    Book("Frankenstein o el moderno Prometeo", "Shelley, Mary, 1797-1851", "821", "Austral", "es"),
    Book("The Old Man and the Sea", HEMINGWAY, "821", "Arrow classics", "en"),
    Book("El Viejo y el mar", HEMINGWAY, "821", "Contemporánea (Debolsillo)", "es"),
    Book("Brave New World", HUXLEY, "821", "Vintage classics", "en"),
    Book("Un Mundo feliz", HUXLEY, "821", "Contemporánea (Debolsillo)", "es"),
    Book("To Kill a Mockingbird", "Lee, Harper, 1926-2016", "821", "", "en"),
    Book("The Great Gatsby", "Fitzgerald, F. Scott, 1896-1940", "821", "Penguin Modern Classics", "en"),
    Book("Moby Dick", "Melville, Herman, 1819-1891", "821", "Austral", "es"),
    Book("Harry Potter y la piedra filosofal", ROWLING, "N", "Harry Potter   1", "es"),
    Book("Harry Potter y la cámara secreta", ROWLING, "N", "Harry Potter   2", "es"),
    Book("El Hobbit", TOLKIEN, "821", "Biblioteca J. R. R. Tolkien", "es"),
    Book(
        "El Señor de los anillos : la comunidad del anillo",
        TOLKIEN,
        "821",
        "El Señor de los anillos   1",
        "es",
    ),
    # Spanish-language literature
    Book("Cien años de soledad", GGM, "860", "Contemporánea (Debolsillo)", "es"),
    Book("Cien años de soledad", GGM, "860", "Edición conmemorativa (Real Academia Española)", "es"),
    Book("El Amor en los tiempos del cólera", GGM, "860", "Contemporánea (Debolsillo)", "es"),
    Book("Crónica de una muerte anunciada", GGM, "860", "", "es"),
    Book("El Coronel no tiene quien le escriba", GGM, "860", "Compactos Anagrama   67", "es"),
    Book("Don Quijote de la Mancha", CERVANTES, "860", "Edición del IV centenario", "es"),
    Book("Novelas ejemplares", CERVANTES, "860", "Letras hispánicas   105", "es"),
    Book("La Casa de los espíritus", "Allende, Isabel, 1942-", "860", "Plaza & Janés", "es"),
    Book("Rayuela", "Cortázar, Julio, 1914-1984", "860", "Letras hispánicas   200", "es"),
    Book("Ficciones", BORGES, "860", "Contemporánea (Debolsillo)", "es"),
    Book("El Aleph", BORGES, "860", "Contemporánea (Debolsillo)", "es"),
    Book("Pedro Páramo", "Rulfo, Juan, 1917-1986", "860", "Letras hispánicas   189", "es"),
    Book(
        "La Sombra del viento",
        "Ruiz Zafón, Carlos, 1964-2020",
        "860",
        "El Cementerio de los libros olvidados   1",
        "es",
    ),
    Book("El Camino", DELIBES, "860", "Destinolibro   1", "es"),
    Book("Cinco horas con Mario", DELIBES, "860", "Áncora y delfín   241", "es"),
    Book("La Familia de Pascual Duarte", "Cela, Camilo José, 1916-2002", "860", "Austral", "es"),
    Book("Nada", "Laforet, Carmen, 1921-2004", "860", "Áncora y delfín   1", "es"),
    Book("Bodas de sangre", LORCA, "860", "Letras hispánicas   231", "es"),
    Book("Romancero gitano", LORCA, "860", "Austral", "es"),
    Book("La Verdad sobre el caso Savolta", "Mendoza, Eduardo, 1943-", "860", "Biblioteca breve", "es"),
    Book("Niebla", "Unamuno, Miguel de, 1864-1936", "860", "Austral", "es"),
    Book("Como agua para chocolate", "Esquivel, Laura, 1950-", "860", "", "es"),
    # Catalan literature
    Book("Mirall trencat", RODOREDA, "849.9", "El Balancí   100", "ca"),
    Book("La Plaça del Diamant", RODOREDA, "849.9", "El Balancí   1", "ca"),
    Book("La Plaza del Diamante", RODOREDA, "849.9", "Contemporánea (Edhasa)", "es"),
    Book("Aloma", RODOREDA, "849.9", "MOLC", "ca"),
    Book(
        "Solitud", "Català, Víctor, 1869-1966", "849.9", "Les Millors obres de la literatura catalana", "ca"
    ),
    Book("Incerta glòria", "Sales, Joan, 1912-1983", "849.9", "El Club dels novel·listes", "ca"),
    Book("Canto jo i la muntanya balla", "Sala, Irene, 1987-", "849.9", "Ficció (Anagrama)", "ca"),
    Book("Jo confesso", CABRE, "849.9", "Proa butxaca", "ca"),
    Book("Les Veus del Pamano", CABRE, "849.9", "", "ca"),
    Book("Terra baixa", "Guimerà, Àngel, 1845-1924", "849.9", "Educació 62", "ca"),
    Book(
        "El Quadern gris : un dietari", "Pla, Josep, 1897-1981", "849.9", "Obra completa (Destino)   1", "ca"
    ),
    Book("K. L. Reich", "Amat-Piniella, Joaquim, 1913-1974", "849.9", "Clàssica (Edicions 62)", "ca"),
    Book("Pa negre", "Teixidor, Emili, 1933-2012", "849.9", "Labutxaca", "ca"),
    # Other literatures, in translation
    Book("El Principito", SAINT_EX, "840", "Salamandra infantil y juvenil", "es"),
    Book("El Petit príncep", SAINT_EX, "840", "", "ca"),
    Book("La Metamorfosis", "Kafka, Franz, 1883-1924", "830", "Austral", "es"),
    Book("Crimen y castigo", "Dostoievski, Fiódor, 1821-1881", "882", "Clásicos (Alba)", "es"),
    # Non-fiction
    Book(
        "Breve historia del tiempo : del big bang a los agujeros negros",
        "Hawking, Stephen, 1942-2018",
        "524",
        "Crítica de bolsillo",
        "es",
    ),
    Book("Cosmos", "Sagan, Carl, 1934-1996", "52", "", "es"),
    Book("El Origen de las especies", "Darwin, Charles, 1809-1882", "575", "Austral", "es"),
    Book("Sapiens : de animales a dioses : breve historia de la humanidad", HARARI, "930", "Debate", "es"),
    Book("Homo Deus : breve historia del mañana", HARARI, "930", "Debate", "es"),
]

ISBN_PREFIXES = {"es": ["97884"], "ca": ["97884"], "en": ["97800", "97801"]}


def tag_letters(surname: str) -> str:
    """First three letters of a surname without accents, capitalised: ``García Márquez`` -> ``Gar``."""
    plain = unicodedata.normalize("NFKD", surname).encode("ascii", "ignore").decode()
    letters = "".join(ch for ch in plain if ch.isalpha())
    return letters[:3].capitalize()


def isbn13_check_digit(first12: str) -> str:
    if len(first12) != 12 or not first12.isdigit():
        raise ValueError(f"need 12 digits, got {first12!r}")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def is_valid_isbn13(isbn: str) -> bool:
    return len(isbn) == 13 and isbn.isdigit() and isbn13_check_digit(isbn[:12]) == isbn[12]


def make_isbns(books: list[Book], rng: random.Random) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for book in books:
        while True:
            prefix = rng.choice(ISBN_PREFIXES[book.lang])
            body = prefix + "".join(rng.choice("0123456789") for _ in range(12 - len(prefix)))
            isbn = body + isbn13_check_digit(body)
            if isbn not in seen:
                break
        seen.add(isbn)
        out.append(isbn)
    return out


def catalog_rows(rng: random.Random) -> list[dict[str, str]]:
    isbns = make_isbns(BOOKS, rng)
    return [
        {"title": b.title, "author": b.author, "tag": b.tag, "series": b.series, "isbn": isbn}
        for b, isbn in zip(BOOKS, isbns, strict=True)
    ]


def write_csv(path: Path, fields: list[str], rows: list[dict[str, str]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode("utf-8"))


# --------------------------------------------------------------------------------------------------
# Shelf
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spine:
    """One book on the shelf. ``book`` is the catalog entry, or None for a book not in the catalog."""

    book: Book | None
    title: str  # as printed on the spine
    author: str  # as printed on the spine
    tag: str  # call number on the label
    width: int
    down: bool = False  # text reads top-to-bottom (English style) instead of bottom-to-top
    upper: bool = False  # title in capitals
    two_lines: bool = False  # author on a second line beside the title instead of after it


def _book(title: str, series: str | None = None) -> Book:
    hits = [b for b in BOOKS if b.title.split(" : ")[0] == title and (series is None or b.series == series)]
    if len(hits) != 1:
        raise LookupError(f"{title!r} / {series!r}: {len(hits)} catalog matches")
    return hits[0]


def _spine(title: str, author: str, width: int, series: str | None = None, **kw: bool) -> Spine:
    book = _book(title, series)
    shown = title.split(" : ")[0]
    return Spine(book, shown, author, book.tag, width, **kw)


SHELF: list[Spine] = [
    _spine("Cien años de soledad", "García Márquez", 140, "Contemporánea (Debolsillo)", two_lines=True),
    _spine("Mirall trencat", "Mercè Rodoreda", 118),
    _spine("1984", "George Orwell", 108, upper=True),
    Spine(None, "El nombre de la rosa", "Umberto Eco", "850 Eco", 152, two_lines=True),
    _spine("Dune", "Frank Herbert", 130, down=True, upper=True),
    _spine("La Plaça del Diamant", "Rodoreda", 126),
    _spine("Breve historia del tiempo", "Stephen Hawking", 160, two_lines=True),
    _spine("Pride and Prejudice", "Jane Austen", 130, down=True),
    _spine("Bodas de sangre", "García Lorca", 108, upper=True),
    _spine("El Principito", "Saint-Exupéry", 122),
    _spine("Crónica de una muerte anunciada", "García Márquez", 150, two_lines=True),
    Spine(None, "Los pilares de la Tierra", "Ken Follett", "821 Fol", 164, two_lines=True, upper=True),
    _spine("The Great Gatsby", "F. Scott Fitzgerald", 128, down=True),
    _spine("Sapiens", "Yuval Noah Harari", 132, upper=True),
    _spine("Canto jo i la muntanya balla", "Irene Sala", 128),
    _spine("Nada", "Carmen Laforet", 110, upper=True),
]

# (spine colour, text colour)
PALETTE: list[tuple[tuple[int, int, int], tuple[int, int, int]]] = [
    ((24, 38, 84), (245, 240, 225)),
    ((236, 228, 205), (30, 28, 30)),
    ((168, 32, 36), (250, 246, 236)),
    ((238, 196, 52), (25, 22, 20)),
    ((36, 78, 52), (240, 230, 190)),
    ((228, 112, 34), (20, 18, 18)),
    ((28, 26, 28), (222, 190, 110)),
    ((246, 244, 238), (140, 28, 32)),
    ((150, 188, 214), (18, 34, 70)),
    ((86, 44, 104), (248, 244, 250)),
    ((160, 160, 156), (16, 16, 16)),
    ((24, 110, 118), (250, 250, 245)),
    ((112, 70, 40), (242, 226, 196)),
    ((232, 150, 170), (24, 20, 24)),
    ((204, 60, 44), (255, 255, 255)),
    ((250, 236, 188), (48, 36, 90)),
]

TITLE_FONTS = [
    "DejaVuSans-Bold.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSansCondensed-Bold.ttf",
    "DejaVuSerif.ttf",
]
AUTHOR_FONTS = ["DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansCondensed.ttf", "DejaVuSans-Bold.ttf"]
LABEL_FONT = "DejaVuSansMono-Bold.ttf"


def font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for d in FONT_DIRS:
        if (d / name).is_file():
            return ImageFont.truetype(str(d / name), size)
    return ImageFont.load_default(size=size)  # Pillow >= 10.1: scalable built-in font


def text_len(f: ImageFont.FreeTypeFont | ImageFont.ImageFont, text: str) -> float:
    return f.getlength(text)


def warm(grey: Image.Image, green: int, blue: int) -> Image.Image:
    """RGB from a grey ramp, with the green and blue channels lowered a little (warm light)."""
    return Image.merge("RGB", [grey, grey.point(lambda v: v - green), grey.point(lambda v: v - blue)])


def shade(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    return tuple(max(0, min(255, round(c * factor))) for c in colour)  # type: ignore[return-value]


def wood(size: tuple[int, int], rng: random.Random, base: tuple[int, int, int]) -> Image.Image:
    """A plank: horizontal grain streaks on a base colour, softened."""
    w, h = size
    img = Image.new("RGB", size, base)
    d = ImageDraw.Draw(img)
    for _ in range(h * 2):
        y = rng.uniform(0, h)
        f = rng.uniform(0.82, 1.12)
        x0 = rng.uniform(-200, w)
        length = rng.uniform(150, 900)
        amp = rng.uniform(0, 3)
        pts = [(x0 + t * length / 20, y + amp * math.sin(t / 3 + y)) for t in range(21)]
        d.line(pts, fill=shade(base, f), width=rng.choice([1, 1, 2, 3]))
    return img.filter(ImageFilter.GaussianBlur(1.2))


def horizontal_profile(w: int, h: int) -> Image.Image:
    """Multiplier (L image) that darkens a spine towards its edges, like a rounded back."""
    row = Image.new("L", (w, 1))
    for x in range(w):
        t = (x + 0.5) / w
        v = 0.72 + 0.28 * math.sin(math.pi * t) ** 0.6
        if 0.25 < t < 0.4:  # a soft highlight left of centre
            v = min(1.0, v + 0.06 * math.sin(math.pi * (t - 0.25) / 0.15))
        row.putpixel((x, 0), round(255 * v))
    return row.resize((w, h))


def fit_font(names: list[str], text: str, max_len: float, max_size: int, min_size: int, idx: int):
    size = max_size
    f = font(names[idx % len(names)], size)
    while size > min_size and text_len(f, text) > max_len:
        size -= 1
        f = font(names[idx % len(names)], size)
    return f, size


def render_strip(spine: Spine, length: int, fg: tuple[int, int, int], style: int) -> Image.Image:
    """The spine's text laid out horizontally (reading direction along x), transparent background."""
    w = spine.width
    strip = Image.new("RGBA", (length, w), (0, 0, 0, 0))
    d = ImageDraw.Draw(strip)
    title = spine.title.upper() if spine.upper else spine.title
    author = spine.author.upper() if spine.upper and not spine.two_lines else spine.author
    margin = int(0.04 * length)
    usable = length - 2 * margin
    if spine.two_lines:
        tf, ts = fit_font(TITLE_FONTS, title, usable, int(0.36 * w), 26, style)
        af, asz = fit_font(AUTHOR_FONTS, author, usable * 0.8, int(0.22 * w), 22, style)
        gap = int(0.08 * w)
        block = ts + gap + asz
        y0 = (w - block) // 2
        d.text((margin, y0 + ts // 2), title, font=tf, fill=fg, anchor="lm")
        d.text((margin, y0 + ts + gap + asz // 2), author, font=af, fill=fg, anchor="lm")
    else:
        max_ts = int(0.46 * w)
        asz = max(22, int(0.27 * w))
        af = font(AUTHOR_FONTS[style % len(AUTHOR_FONTS)], asz)
        a_len = text_len(af, author)
        gap = int(0.08 * length)
        tf, ts = fit_font(TITLE_FONTS, title, usable - a_len - gap, max_ts, 24, style)
        d.text((margin, w // 2), title, font=tf, fill=fg, anchor="lm")
        d.text((length - margin, w // 2), author, font=af, fill=fg, anchor="rm")
    return strip


def render_label(tag: str, w: int) -> Image.Image:
    cls, letters = tag.rsplit(" ", 1)
    lines = [cls, letters]
    size = 34
    f = font(LABEL_FONT, size)
    while size > 20 and max(text_len(f, s) for s in lines) > w - 34:
        size -= 1
        f = font(LABEL_FONT, size)
    tw = max(text_len(f, s) for s in lines)
    lw = int(min(w - 16, tw + 26))
    lh = int(size * 2 * 1.25 + 22)
    label = Image.new("RGB", (lw, lh), (246, 246, 240))
    d = ImageDraw.Draw(label)
    d.rectangle((0, 0, lw - 1, lh - 1), outline=(200, 200, 196), width=2)
    for i, s in enumerate(lines):
        d.text((lw / 2, 11 + size * 1.25 * (i + 0.5)), s, font=f, fill=(20, 20, 24), anchor="mm")
    return label


def render_spine(spine: Spine, height: int, rng: random.Random, colours, style: int) -> Image.Image:
    bg, fg = colours
    w, h = spine.width, height
    img = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(img)
    # decoration: a contrasting band or thin rules near the head and foot of the spine
    deco = rng.randrange(3)
    if deco == 0:
        d.rectangle((0, int(0.03 * h), w, int(0.03 * h) + 6), fill=fg)
        d.rectangle((0, int(0.97 * h) - 6, w, int(0.97 * h)), fill=fg)
    elif deco == 1:
        d.rectangle((0, 0, w, int(0.07 * h)), fill=shade(bg, 0.55))
    # a small publisher mark between the text and the label
    label = render_label(spine.tag, w)
    label_top = h - int(0.05 * h) - label.height
    mark_y = label_top - int(0.045 * h)
    d.ellipse((w // 2 - 13, mark_y - 13, w // 2 + 13, mark_y + 13), outline=fg, width=3)
    # the text, vertical
    text_top = int(0.09 * h)
    text_bottom = mark_y - 30
    strip = render_strip(spine, text_bottom - text_top, fg, style)
    strip = strip.transpose(Image.Transpose.ROTATE_270 if spine.down else Image.Transpose.ROTATE_90)
    img.paste(strip, (0, text_top), strip)
    img.paste(label, ((w - label.width) // 2, label_top))
    # rounded-back shading
    prof = horizontal_profile(w, h).convert("RGB")
    img = ImageChops.multiply(img, prof)
    return img


def render_shelf(rng: random.Random) -> Image.Image:
    W, H = SHELF_SIZE
    # wall: warm off-white, slightly darker at the bottom
    wall = Image.linear_gradient("L").resize((W, H)).point(lambda v: 235 - v * 40 // 255)
    img = warm(wall, 6, 16)
    board_top, board_front = 1420, 1540
    # upper shelf board with its shadow
    upper = wood((W, 78), rng, (186, 140, 94))
    img.paste(upper, (0, 0))
    shadow = Image.linear_gradient("L").resize((W, 60)).point(lambda v: (255 - v) * 90 // 255)
    img.paste((40, 32, 24), (0, 78), shadow)
    # back-wall shadow behind the books
    back = Image.linear_gradient("L").resize((W, board_top - 78)).point(lambda v: v * 70 // 255)
    img.paste((60, 50, 40), (0, 78), back)
    # books
    total = sum(s.width for s in SHELF)
    gaps = [rng.randint(2, 6) for _ in SHELF]
    x = 70
    assert x + total + sum(gaps) + 130 < W, "spines do not fit on the shelf"
    palette = PALETTE[:]
    rng.shuffle(palette)
    d = ImageDraw.Draw(img)
    for i, (spine, gap) in enumerate(zip(SHELF, gaps, strict=True)):
        height = rng.randint(1030, 1270)
        spine_img = render_spine(spine, height, rng, palette[i % len(palette)], i)
        top = board_top - height
        # a dark crevice between books
        d.rectangle((x - gap, top + 20, x, board_top), fill=(30, 24, 20))
        if i == len(SHELF) - 1:
            # the last book leans to the right, towards the bookend
            leaning = spine_img.convert("RGBA").rotate(-LEAN_DEGREES, Image.Resampling.BICUBIC, expand=True)
            img.paste(leaning, (x, board_top - leaning.height), leaning)
            x += leaning.width + gap
        else:
            img.paste(spine_img, (x, top))
            x += spine.width + gap
    # metal bookend after the last book
    d.rectangle((x, board_top - 380, x + 14, board_top), fill=(150, 152, 156))
    d.rectangle((x + 14, board_top - 380, x + 20, board_top), fill=(96, 98, 102))
    # shelf board: top surface and front edge
    img.paste(wood((W, 20), rng, (172, 126, 84)), (0, board_top))
    img.paste(wood((W, board_front - board_top - 20), rng, (196, 150, 102)), (0, board_top + 20))
    d.line((0, board_top + 20, W, board_top + 20), fill=(120, 84, 52), width=2)
    below = Image.linear_gradient("L").resize((W, H - board_front)).point(lambda v: 70 + v * 60 // 255)
    img.paste(warm(below, 6, 14), (0, board_front))
    return finish_photo(camera_tilt(img), rng)


def camera_tilt(img: Image.Image) -> Image.Image:
    """The camera is not quite level nor square to the shelf: a small rotation and keystone."""
    W, H = img.size
    img = img.rotate(CAMERA_ROLL_DEGREES, Image.Resampling.BICUBIC, fillcolor=(120, 100, 80))
    # source quad (upper-left, lower-left, lower-right, upper-right): wider at the bottom
    k, m = 0.01 * W, 0.015 * W
    quad = (m + k, m, m, H - m, W - m, H - m, W - m - k, m)
    return img.transform((W, H), Image.Transform.QUAD, quad, Image.Resampling.BICUBIC)


def finish_photo(img: Image.Image, rng: random.Random) -> Image.Image:
    """Camera look: slight softness, vignette, uneven light and fine sensor noise (all from rng)."""
    W, H = img.size
    img = img.filter(ImageFilter.GaussianBlur(0.7))
    # vignette + light coming from the upper left
    vig = Image.radial_gradient("L").resize((W, H), Image.Resampling.BICUBIC)
    vig = vig.point(lambda v: 255 - max(0, v - 120) * 70 // 135)
    light = Image.linear_gradient("L").rotate(-35, fillcolor=128).resize((W, H), Image.Resampling.BICUBIC)
    light = light.point(lambda v: 255 - v * 36 // 255)
    mult = ImageChops.multiply(vig, light)
    img = ImageChops.multiply(img, Image.merge("RGB", [mult, mult, mult]))
    # mono sensor noise, range about +-7 grey levels
    nw, nh = W // 2, H // 2
    noise = Image.frombytes("L", (nw, nh), rng.randbytes(nw * nh)).resize((W, H), Image.Resampling.BILINEAR)
    noise = noise.point(lambda v: v * 15 // 255)
    img = ImageChops.add(img, Image.merge("RGB", [noise, noise, noise]), scale=1.0, offset=-7)
    return img


# --------------------------------------------------------------------------------------------------
# Cover
# --------------------------------------------------------------------------------------------------

COVER_TITLE = "La Sombra del viento"
COVER_AUTHOR = "Carlos Ruiz Zafón"


def render_cover(rng: random.Random) -> Image.Image:
    W, H = 900, 1350
    top, bottom = (44, 52, 66), (150, 120, 86)
    grad = Image.linear_gradient("L").resize((W, H))
    img = Image.composite(Image.new("RGB", (W, H), bottom), Image.new("RGB", (W, H), top), grad)
    d = ImageDraw.Draw(img)
    # a faint skyline silhouette
    x = 0
    while x < W:
        bw = rng.randint(50, 140)
        bh = rng.randint(160, 420)
        d.rectangle((x, H - bh, x + bw, H), fill=(34, 30, 32))
        x += bw
    d.rectangle((60, 60, W - 60, H - 60), outline=(224, 200, 150), width=4)
    words = ["La Sombra", "del viento"]
    tf = font("DejaVuSerif-Bold.ttf", 104)
    for i, line in enumerate(words):
        d.text((W / 2, 300 + i * 130), line, font=tf, fill=(246, 236, 210), anchor="mm")
    af = font("DejaVuSans.ttf", 56)
    d.text((W / 2, 620), COVER_AUTHOR, font=af, fill=(230, 210, 170), anchor="mm")
    return finish_photo(img, rng)


# --------------------------------------------------------------------------------------------------


def save_jpeg(img: Image.Image, path: Path) -> None:
    img.save(path, "JPEG", quality=JPEG_QUALITY, optimize=True)


def generate(out_dir: Path) -> None:
    """Write catalog.csv, shelf_truth.csv, shelf.jpg and cover.jpg into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    rows = catalog_rows(rng)
    write_csv(out_dir / "catalog.csv", CATALOG_FIELDS, rows)

    by_book = dict(zip(BOOKS, rows, strict=True))
    truth = [by_book[s.book] for s in SHELF if s.book is not None]
    write_csv(out_dir / "shelf_truth.csv", TRUTH_FIELDS, truth)

    save_jpeg(render_shelf(random.Random(SEED + 1)), out_dir / "shelf.jpg")
    save_jpeg(render_cover(random.Random(SEED + 2)), out_dir / "cover.jpg")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else DEMO_DIR
    generate(out)
    for name in ("catalog.csv", "shelf_truth.csv", "shelf.jpg", "cover.jpg"):
        p = out / name
        print(f"{p}  {p.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
