"""The same photo as another phone would have taken it: rescaled, held a few degrees off level, or a little
out of focus.

One photo's recall is one draw: on the real shelf, resampling the photo alone moves recall by several
books, because the OCR detector finds a marginal spine title in one pixel grid and not in the next. The
variants make that spread visible, so a change is judged on the spread and not on one lucky reading. The
blurred copies stand for a photo whose focus is a little off: small print is the first to go.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageFilter, ImageOps


@dataclass(frozen=True)
class Variant:
    name: str
    scale: float = 1.0
    degrees: float = 0.0
    blur: float = 0.0
    """Gaussian blur radius, in pixels of the photo as given."""


VARIANTS = (
    Variant("rescaled 0.9", scale=0.9),
    Variant("rescaled 0.75", scale=0.75),
    Variant("tilted +3°", degrees=3.0),
    Variant("tilted -5°", degrees=-5.0),
    Variant("blurred 1 px", blur=1.0),
    Variant("blurred 1.5 px", blur=1.5),
)


def upright_photo(photo: Path, purpose: str) -> Image.Image:
    """The photo as RGB with its EXIF orientation applied; a file that is not one is refused with its name."""
    try:
        return ImageOps.exif_transpose(Image.open(photo)).convert("RGB")
    except (OSError, Image.DecompressionBombError) as error:
        raise ValueError(f"cannot {purpose} {photo}: {error}") from error


def write_variants(photo: Path, out_dir: Path, variants: tuple[Variant, ...] = VARIANTS) -> list[tuple[Variant, Path]]:
    """JPEG copies of `photo` (EXIF orientation applied), one per variant, in `out_dir`."""
    upright = upright_photo(photo, "make variants of")
    written = []
    for index, variant in enumerate(variants):
        picture = upright
        if variant.blur:
            picture = picture.filter(ImageFilter.GaussianBlur(variant.blur))
        if variant.scale != 1.0:
            size = (round(picture.width * variant.scale), round(picture.height * variant.scale))
            picture = picture.resize(size, Image.LANCZOS)
        if variant.degrees:
            picture = picture.rotate(variant.degrees, expand=True, resample=Image.BICUBIC, fillcolor=(128, 128, 128))
        path = out_dir / f"{photo.stem}-variant{index}.jpg"
        picture.save(path, "JPEG", quality=90)
        written.append((variant, path))
    return written
