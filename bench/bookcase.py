"""A bookcase photographed in overlapping parts against the same shelf in one piece.

A synthetic shelf (bench/shelves.py, one shelf per photo) is cut into parts that share a few spines, each cut
falling in the gap between two spines, as a person stepping along a bookcase takes them. The parts go through
the pipeline as one bookcase and the whole photo as one job; both lists are scored against the shelf's truth.
The merge is right when the two score alike and no book of the bookcase is listed twice.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from bench.shelves import ShelfPhoto, TruthRow

PARTS = 2
OVERLAP_SPINES = 3


def part_spans(truth: Sequence[TruthRow], parts: int = PARTS, overlap: int = OVERLAP_SPINES) -> list[range]:
    """Which spines (left to right) each part holds: even stretches, each sharing `overlap` spines with the next."""
    count = len(truth)
    if parts < 1 or count < parts + overlap * (parts - 1):
        raise ValueError(f"{count} spines cannot make {parts} parts overlapping by {overlap}")
    bounds = [round(i * count / parts) for i in range(1, parts)]
    low, high = overlap // 2, overlap - overlap // 2
    starts = [0, *(b - low for b in bounds)]
    ends = [*(b + high for b in bounds), count]
    return [range(s, e) for s, e in zip(starts, ends, strict=True)]


def cut_parts(photo: ShelfPhoto, parts: int = PARTS, overlap: int = OVERLAP_SPINES) -> list[bytes]:
    """The photo cut into overlapping parts (JPEG), each cut halfway across the gap between two spines."""
    spines = sorted(photo.truth, key=lambda row: row.left)
    if len({row.shelf for row in spines}) > 1:
        raise ValueError("cut a photo of one shelf: its spines must stand in one row")
    image = Image.open(io.BytesIO(photo.jpeg))

    def gap(before: int) -> int:  # between spine `before - 1` and spine `before`
        left, right = spines[before - 1], spines[before]
        return round((left.left + left.width + right.left) / 2)

    cut = []
    for span in part_spans(spines, parts, overlap):
        x0 = 0 if span.start == 0 else gap(span.start)
        x1 = image.width if span.stop == len(spines) else gap(span.stop)
        out = io.BytesIO()
        image.crop((x0, 0, x1, image.height)).save(out, "JPEG", quality=92)
        cut.append(out.getvalue())
    return cut


def listed_twice(books: Sequence[tuple[str, str]], truth: Sequence[tuple[str, str]]) -> int:
    """Books listed more often than the shelf holds them (a copy the shelf holds twice may be listed twice)."""
    found, held = Counter(books), Counter(truth)
    return sum(max(0, n - held.get(key, 0)) for key, n in found.items() if key in held or n > 1)


def bookcase_benchmark(photos: Sequence[tuple[str, ShelfPhoto]], catalog: Path, work_dir: Path, *,
                       parts: int = PARTS, overlap: int = OVERLAP_SPINES, timeout_s: float = 900) -> dict:
    """Each shelf in one piece and as a bookcase of overlapping parts, on an embedded stack of its own."""
    from cli.bench import ONE_PHOTO_PER_OCR_CALL
    from embedded.embedded_stack import EmbeddedStack
    from embedded.webhook import WebhookReceiver

    with (
        WebhookReceiver() as receiver,
        EmbeddedStack(work_dir=work_dir / "stack", catalog_csv=catalog, webhooks=[receiver.url], emails=[],
                      config=ONE_PHOTO_PER_OCR_CALL) as stack,
    ):
        return score_bookcases(stack, receiver, photos, work_dir, parts=parts, overlap=overlap, timeout_s=timeout_s)


def score_bookcases(stack, receiver, photos: Sequence[tuple[str, ShelfPhoto]], work_dir: Path, *,
                    parts: int = PARTS, overlap: int = OVERLAP_SPINES, timeout_s: float = 900) -> dict:
    """Each shelf in one piece and as a bookcase of overlapping parts on a running stack; scored apart."""
    from bench.quality import _key, photo_scores
    from bench.shelves import write_truth
    from cli.bench import _pooled
    from cli.identify import run_on_embedded

    shelves = []
    for seed, photo in photos:
        folder = work_dir / f"shelf-{seed}"
        folder.mkdir(parents=True, exist_ok=True)
        whole, truth = folder / "whole.jpg", folder / "truth.csv"
        whole.write_bytes(photo.jpeg)
        write_truth(photo.truth, truth)
        part_paths = []
        for number, jpeg in enumerate(cut_parts(photo, parts, overlap), 1):
            part_paths.append(folder / f"part-{number}.jpg")
            part_paths[-1].write_bytes(jpeg)
        shelves.append((seed, whole, truth, part_paths, photo))
    wholes = run_on_embedded(stack, receiver, [whole for _, whole, *_ in shelves], timeout_s=timeout_s, console=None)
    cases = [run_on_embedded(stack, receiver, part_paths, bookcase=f"shelf {seed}", timeout_s=timeout_s,
                             console=None)[0]
             for seed, _, _, part_paths, _ in shelves]
    scored = []
    for (seed, _, truth, part_paths, photo), whole, case in zip(shelves, wholes, cases, strict=True):
        whole_books, merged_books = whole.book_models, case.book_models
        held = [_key(row.title, row.author) for row in photo.truth]
        # what listing every part's books one after the other would give: the overlap's books twice
        concatenated = [b for job in case.photo_job_ids if (part := stack.result(job)) for b in part.books]
        scored.append({
            "seed": seed, "status": case.status.value if case.status else None, "parts": len(part_paths),
            "whole": photo_scores(whole_books, truth),
            "merged": photo_scores(merged_books, truth),
            "merged_listed_twice": listed_twice([_key(b.title, b.author) for b in merged_books], held),
            "concatenated": photo_scores(concatenated, truth),
            "concatenated_listed_twice": listed_twice([_key(b.title, b.author) for b in concatenated], held),
            "seen_in_several": sum(len(b.seen_in) > 1 for b in merged_books),
            "books": [{"title": b.title, "author": b.author, "photos": [x.photo for x in b.seen_in]}
                      for b in merged_books],
            "bookcase_id": case.job_id, "part_job_ids": case.photo_job_ids,
            "notifications": len(receiver.for_job(case.job_id)),
            "part_notifications": sum(len(receiver.for_job(job)) for job in case.photo_job_ids),
        })
    whole_p, whole_r, _ = _pooled([s["whole"] for s in scored])
    merged_p, merged_r, _ = _pooled([s["merged"] for s in scored])
    return {
        "shelves": len(scored), "parts": parts, "overlap_spines": overlap,
        "whole_precision": round(whole_p, 4), "whole_recall": round(whole_r, 4),
        "merged_precision": round(merged_p, 4), "merged_recall": round(merged_r, 4),
        "precision_gap": round(merged_p - whole_p, 4), "recall_gap": round(merged_r - whole_r, 4),
        "listed_twice": sum(s["merged_listed_twice"] for s in scored),
        "concatenated_precision": round(_pooled([s["concatenated"] for s in scored])[0], 4),
        "concatenated_listed_twice": sum(s["concatenated_listed_twice"] for s in scored),
        "per_shelf": scored,
    }
