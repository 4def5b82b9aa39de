"""The shared photo as two photos, one shelf each, so that every constant can be chosen on one shelf and judged
on the other (and the other way round): a figure on the shelf a constant was chosen on is not a result.

The photo's shelves meet at half its height (the board between them); each shelf's truth list is the part of
`two_shelves_example.csv` standing on it, in the same call-number order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.photo_variants import upright_photo

TRUTH_DIR = Path(__file__).resolve().parent / "truth"


@dataclass(frozen=True)
class Shelf:
    name: str
    top: float
    bottom: float
    """Shares of the photo's height the shelf spans."""

    @property
    def truth(self) -> Path:
        return TRUTH_DIR / f"two_shelves_example_{self.name}.csv"


SHELVES = (Shelf("top", 0.0, 0.5), Shelf("bottom", 0.5, 1.0))


def write_shelf_photos(photo: Path, out_dir: Path, shelves: tuple[Shelf, ...] = SHELVES) -> list[tuple[Shelf, Path]]:
    """A JPEG per shelf of the shared photo (EXIF orientation applied), cut at full resolution, in `out_dir`."""
    upright = upright_photo(photo, "cut into shelves")
    written = []
    for shelf in shelves:
        box = (0, round(shelf.top * upright.height), upright.width, round(shelf.bottom * upright.height))
        path = out_dir / f"{photo.stem}-{shelf.name}.jpg"
        upright.crop(box).save(path, format="JPEG", quality=92)
        written.append((shelf, path))
    return written
