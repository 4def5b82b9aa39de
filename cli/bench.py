"""`bookimg bench ...`: commands that print figures (speed and quality live here, not in timed tests)."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from embedded.embedded_stack import DEMO_DIR, EmbeddedStack
from embedded.webhook import WebhookReceiver
from models import JobStatus

if TYPE_CHECKING:
    from cli.identify import PhotoRun
    from models import JobRecord

SHARED_DATASET = Path(__file__).resolve().parents[2] / "shared" / "data" / "library-dataset"
ONE_PHOTO_PER_OCR_CALL = {"workers": {"textract": {"batchSize": 1}}}
"""A benchmark sends many photos at once. In batches of five, one OCR call must read five phone photos within its
timeout; on a busy machine it does not, and the batch waits out the queue's visibility timeout before it is read
again. One photo a call gives each its own timeout; the photos are still read one after another."""


def _pooled(scored: list[dict]) -> tuple[float, float, float]:
    """(precision, recall, F1) over several photos' books, pooled."""
    matched, found, truth = (sum(int(s.get(key, 0)) for s in scored) for key in ("matched", "found", "truth"))
    precision = matched / found if found else 0.0
    recall = matched / truth if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def photo_benchmark(
    photos: list[Path], truths: list[Path], catalog: Path, *, timeout_s: float = 600, variants: bool = False
) -> dict:
    """Run each photo through the whole pipeline on the embedded stack and score it against its truth.

    With `variants`, rescaled and tilted copies of each photo (bench/photo_variants.py) run in the same
    stack and are scored apart: the photo_* figures stay those of the photos as given. `ocr_pass_ratio`
    divides the seconds per photo by one plain OCR pass over the same photos, timed once the stack is
    down so the two do not share the cores. Both are timed warm: the plain pass's first read is not counted,
    and neither is the stack's first photo, a mirror image of the first (`_warm_up_copy`), whose seconds,
    which hold every worker's cold start, are given apart (`first_photo_seconds`; cold starts have their own
    benchmark, `bench perf`)."""
    from bench.ocr_baseline import plain_ocr_pass_seconds
    from bench.photo_variants import write_variants
    from bench.quality import photo_scores
    from cli.identify import run_on_embedded

    with (
        WebhookReceiver() as receiver,
        tempfile.TemporaryDirectory() as work_dir,
        EmbeddedStack(work_dir=Path(work_dir), catalog_csv=catalog, webhooks=[receiver.url], emails=[],
                   config=ONE_PHOTO_PER_OCR_CALL) as stack,
    ):
        extra = [(photo, truth, variant, path) for photo, truth in zip(photos, truths, strict=True)
                 for variant, path in (write_variants(photo, Path(work_dir)) if variants else [])]
        started = time.perf_counter()
        run_on_embedded(stack, receiver, [_warm_up_copy(photos[0], Path(work_dir))], timeout_s=timeout_s,
                        console=None)
        first_photo_seconds = time.perf_counter() - started
        started = time.perf_counter()
        runs = run_on_embedded(stack, receiver, photos, timeout_s=timeout_s, console=None)
        elapsed = time.perf_counter() - started
        variant_runs = run_on_embedded(stack, receiver, [path for *_, path in extra], timeout_s=timeout_s,
                                       console=None)
        for run in [*runs, *variant_runs]:  # scored from the stored result: it keeps each place's outline
            run.result = stack.result(run.job_id) if run.job_id else None
            if run.status != JobStatus.COMPLETED:
                _report_unfinished(run, stack.job(run.job_id) if run.job_id else None)
    per_photo = []
    for run, truth in zip(runs, truths, strict=True):
        scores = photo_scores(run.result.books if run.result else [], truth)
        books = run.result.books if run.result else []
        places = [*books, *(run.result.unidentified if run.result else [])]
        per_photo.append({"photo": str(run.photo), "status": run.status.value if run.status else None,
                          "error": run.error, **scores,
                          "books": [{"title": b.title, "author": b.author} for b in books],
                          "outlines": [outline_of(place) for place in places if place.polygon or place.box]})
    precision, recall, f1 = _pooled(per_photo)
    ocr_pass_seconds = plain_ocr_pass_seconds(photos)
    result = {
        "photo_precision": round(precision, 4),
        "photo_recall": round(recall, 4),
        "photo_f1": round(f1, 4),
        "seconds_per_photo": round(elapsed / len(photos), 2),
        "first_photo_seconds": round(first_photo_seconds, 2),
        "ocr_pass_seconds": round(ocr_pass_seconds, 2),
        "ocr_pass_ratio": round(elapsed / len(photos) / ocr_pass_seconds, 2),
        "photos": per_photo,
    }
    if variants:
        per_variant = []
        for (photo, truth, variant, _), run in zip(extra, variant_runs, strict=True):
            scores = photo_scores(run.result.books if run.result else [], truth)
            per_variant.append({"photo": f"{photo} ({variant.name})",
                                "status": run.status.value if run.status else None, **scores})
        precision, recall, _ = _pooled(per_variant)
        result |= {
            "variant_precision": round(precision, 4),
            "variant_recall": round(recall, 4),
            "variant_recall_min": round(min(v["recall"] for v in per_variant), 4),
            "photos": per_photo + per_variant,
        }
    return result


def _report_unfinished(run: PhotoRun, record: JobRecord | None) -> None:
    """A photo whose job did not complete scores as a photo of no books: say so, with the stage it failed at
    (the job table's) and why (`run.error`, as the API or the client saw it), or the figures hide a failure."""
    stage = record.failed_stage.value if record is not None and record.failed_stage else "no stage"
    status = run.status.value if run.status else "unknown"
    print(f"bookimg bench: {run.photo.name}: job {run.job_id or '(none)'} ended {status} at {stage}: "
          f"{run.error or 'no error recorded'}", file=sys.stderr)


def _warm_up_copy(photo: Path, work_dir: Path) -> Path:
    """The photo mirrored: the same size and as much to read, but other bytes, so nothing the stack keeps from
    it (a result, a cache entry) makes the timed photo cheaper."""
    from PIL import ImageOps

    from bench.photo_variants import upright_photo

    path = work_dir / f"warm-up-{photo.stem}.jpg"
    ImageOps.mirror(upright_photo(photo, "warm the stack up with")).save(path, "JPEG", quality=90)
    return path


def bench_quality(args: argparse.Namespace) -> int:
    from bench.quality import format_quality_table, read_truth, run_spine_benchmark
    from bench.two_shelves import write_shelf_photos

    spines = Path(args.spines) if args.spines else SHARED_DATASET / "spines_dev.csv"
    catalog = Path(args.catalog) if args.catalog else SHARED_DATASET / "library_books.csv"
    photos = [Path(p) for p in args.photo]
    truths = [Path(t) for t in args.truth]
    if not photos and not args.spines and not args.catalog and not spines.exists():
        photos, truths, catalog = [DEMO_DIR / "shelf.jpg"], [DEMO_DIR / "shelf_truth.csv"], DEMO_DIR / "catalog.csv"
    if args.folds < 0 or args.folds == 1:
        print(f"bookimg bench quality: --folds must be 0 (no cross-validation) or at least 2, not {args.folds}",
              file=sys.stderr)
        return 2
    if len(photos) != len(truths):
        print("bookimg bench quality: give one --truth CSV per --photo", file=sys.stderr)
        return 2
    for path in [catalog, *photos, *truths, *([spines] if args.spines else [])]:
        if not path.is_file():
            print(f"bookimg bench quality: no such file: {path}", file=sys.stderr)
            return 2
    shared_photo = SHARED_DATASET / "two_shelves_example.jpg"
    if args.two_shelves and not shared_photo.is_file():
        print(f"bookimg bench quality: --two-shelves needs the shared photo, not found at {shared_photo}",
              file=sys.stderr)
        return 2
    result: dict = {}
    try:  # a catalog without its title column is refused by the first reader of it, the spines or the stack
        for truth in truths:  # before the photos take their minutes, not after
            read_truth(truth)
        if args.spines or (not photos and not args.two_shelves and spines.is_file()):
            result.update(run_spine_benchmark(spines, catalog, folds=args.folds))  # photos alone: no spine figures
        with tempfile.TemporaryDirectory() as cut_dir:
            shelves = write_shelf_photos(shared_photo, Path(cut_dir)) if args.two_shelves else []
            if photos or shelves:
                result.update(photo_benchmark([*photos, *(p for _, p in shelves)],
                                              [*truths, *(s.truth for s, _ in shelves)], catalog,
                                              variants=args.variants))
            for shelf, path in shelves:
                scored = next(p for p in result["photos"] if p["photo"] == str(path))
                for key in ("precision", "recall", "matched", "found", "truth"):
                    result[f"{shelf.name}_shelf_{key}"] = scored[key]
    except ValueError as error:  # BenchInputError, CatalogFormatError
        print(f"bookimg bench quality: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(format_quality_table({k: v for k, v in result.items()
                                    if k not in ("photos", "cv_folds", "without_set_aside")}))
        if "without_set_aside" in result:
            apart = result["without_set_aside"]
            print(f"  without {', '.join(apart['photos'])} (known label errors): " + ", ".join(
                f"{key} {value:.1%}" for key, value in apart.items() if key.endswith(("top1", "precision", "rate"))))
        for fold in result.get("cv_folds", []):
            print(f"  fold {fold['fold']} ({fold['photos']} photos, bar {fold['bar']:.2f}): top1 "
                  f"{fold['spine_top1']:.1%} precision {fold['spine_precision']:.1%} "
                  f"false ids {fold['spine_false_id_rate']:.1%}")
        for photo in result.get("photos", []):
            print(f"  {photo['photo']}: precision {photo['precision']:.1%} recall {photo['recall']:.1%}")
    return 0


def _draw_shelves(catalog_csv: Path, seed: int, count: int, out_dir: Path, *, home_share: float,
                  two_shelf_share: float, sideways_share: float = 0.0) -> list[dict]:
    """Write each synthetic shelf's JPEG and its truth CSV side by side; what each one holds."""
    from bench.shelves import make_shelf_photo, read_catalog, write_truth

    catalog = read_catalog(catalog_csv)
    drawn = []
    for index in range(count):
        plan, photo = make_shelf_photo(catalog, f"{seed}-{index}", home_share=home_share,
                                       two_shelf_share=two_shelf_share, sideways_share=sideways_share)
        jpeg, truth_csv = out_dir / f"shelf-{seed}-{index:03d}.jpg", out_dir / f"shelf-{seed}-{index:03d}.csv"
        jpeg.write_bytes(photo.jpeg)
        write_truth(photo.truth, truth_csv)
        drawn.append({"photo": jpeg, "truth_csv": truth_csv, "shelf_seed": plan.seed, "home": plan.home,
                      "shelves": plan.shelves, "books": plan.books, "turn": plan.turn,
                      "worn": sum(row.worn for row in photo.truth),
                      "covers": sum(row.kind == "cover" for row in photo.truth)})
    return drawn


def outline_of(place) -> list[tuple[float, float]]:
    """A result item's place in the photo as corners (normalised): its polygon, else its box."""
    if place.polygon:
        return [(p.x, p.y) for p in place.polygon]
    b = place.box
    right, bottom = b.left + b.width, b.top + b.height
    return [(b.left, b.top), (right, b.top), (right, bottom), (b.left, bottom)]


def _misses(found: list[dict], truth_csv: Path) -> tuple[list[dict], list[dict]]:
    """The truth rows no book found accounts for (with what kind of spine they were) and the books found that
    no truth row accounts for: what the engineer improving the recogniser needs to look at."""
    import csv

    from workers.catalog.matcher import normalise

    def key(row: dict) -> tuple[str, str]:
        return normalise(row.get("title") or ""), normalise(row.get("author") or "")

    with open(truth_csv, newline="", encoding="utf-8") as handle:
        truth = list(csv.DictReader(handle))
    unmatched = list(found)
    missed = []
    for row in truth:
        same = next((book for book in unmatched if key(book) == key(row)), None)
        if same is not None:
            unmatched.remove(same)
        else:
            missed.append({name: row[name] for name in ("title", "author", "tag", "kind", "worn", "width")})
    return missed, unmatched


def bench_shelves(args: argparse.Namespace) -> int:
    """Synthetic shelves from random books of the catalog, on a fresh seed unless one is given."""
    import random

    from bench.quality import format_quality_table

    def refuse(message: str) -> int:
        print(f"bookimg bench shelves: {message}", file=sys.stderr)
        return 2

    catalog = Path(args.catalog) if args.catalog else SHARED_DATASET / "library_books.csv"
    if args.count < 1:
        return refuse(f"--count must be at least 1 (got {args.count})")
    if args.runs < 1:
        return refuse(f"--runs must be at least 1 (got {args.runs})")
    for name in ("home_share", "two_shelf_share", "sideways_share"):
        if not 0 <= getattr(args, name) <= 1:
            return refuse(f"--{name.replace('_', '-')} is a share between 0 and 1 (got {getattr(args, name)})")
    if not catalog.is_file():
        return refuse(f"no such catalog: {catalog}")
    seeds = list(dict.fromkeys(args.seed or []))
    while len(seeds) < args.runs:
        seeds.append(random.SystemRandom().randrange(2**31))
    again = " ".join(f"--seed {seed}" for seed in seeds)
    print(f"bookimg bench shelves: seed{'s' if len(seeds) > 1 else ''} {' '.join(map(str, seeds))} "
          f"(repeat this run with {again})", file=sys.stderr)
    out_dir = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix=f"bookimg-shelves-{seeds[0]}-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        drawn = [{"run_seed": seed, **shelf} for seed in seeds
                 for shelf in _draw_shelves(catalog, seed, args.count, out_dir, home_share=args.home_share,
                                            two_shelf_share=args.two_shelf_share,
                                            sideways_share=args.sideways_share)]
        print(f"bookimg bench shelves: {len(drawn)} shelf photo(s) and their truth in {out_dir}", file=sys.stderr)
        scored = photo_benchmark([d["photo"] for d in drawn], [d["truth_csv"] for d in drawn], catalog,
                                 timeout_s=max(600.0, 60.0 * len(drawn)))
    except ValueError as error:  # ShelfInputError, CatalogFormatError
        return refuse(str(error))
    from bench.shelves import spines_found

    per_shelf = []
    for shelf, figures in zip(drawn, scored["photos"], strict=True):
        missed, wrong = _misses(figures.pop("books"), shelf["truth_csv"])
        found, spines = spines_found(shelf["photo"], shelf["truth_csv"], figures.pop("outlines"))
        per_shelf.append({**{k: (str(v) if isinstance(v, Path) else v) for k, v in shelf.items()}, **figures,
                          "spines": spines, "spines_found": found, "missed": missed, "wrong": wrong})
    result = {
        "shelves": len(drawn),
        "seed": seeds[0],
        "seeds": seeds,
        "precision": scored["photo_precision"],
        "recall": scored["photo_recall"],
        "f1": scored["photo_f1"],
        "seconds_per_photo": scored["seconds_per_photo"],
        "first_photo_seconds": scored["first_photo_seconds"],
        "ocr_pass_seconds": scored["ocr_pass_seconds"],
        "ocr_pass_ratio": scored["ocr_pass_ratio"],
        "spine_recall": round(sum(s["spines_found"] for s in per_shelf) / max(sum(s["spines"] for s in per_shelf), 1),
                              4),
        "books": sum(s["truth"] for s in per_shelf),
        "found": sum(s["found"] for s in per_shelf),
        "matched": sum(s["matched"] for s in per_shelf),
        "out_dir": str(out_dir),
        "per_shelf": per_shelf,
    }
    if len(seeds) > 1:
        result |= _figures_by_run(per_shelf, seeds)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(format_quality_table({k: v for k, v in result.items() if k not in ("per_shelf", "runs", "seeds")}))
        for run in result.get("runs", []):
            shelves = "1 shelf" if run["shelves"] == 1 else f"{run['shelves']} shelves"
            print(f"  run on seed {run['seed']} ({shelves}, {run['books']} books): precision "
                  f"{run['precision']:.1%} recall {run['recall']:.1%} spine_recall {run['spine_recall']:.1%}")
        for shelf in per_shelf:
            kind = "home" if shelf["home"] else "library"
            shelves = "1 shelf" if shelf["shelves"] == 1 else f"{shelf['shelves']} shelves"
            if shelf["turn"]:
                shelves += f", turned {shelf['turn']}°"
            print(f"  {Path(shelf['photo']).name} ({kind}, {shelves}, {shelf['truth']} books, {shelf['worn']} worn): "
                  f"precision {shelf['precision']:.1%} recall {shelf['recall']:.1%}")
    return 0


def _figures_by_run(per_shelf: list[dict], seeds: list[int]) -> dict:
    """Each run's figures, and their mean and worst: a run is a sample of shelves, and the spread between
    runs on fresh seeds says how far one run's figure is to be trusted."""
    runs = []
    for seed in seeds:
        shelves = [shelf for shelf in per_shelf if shelf["run_seed"] == seed]
        matched, found, books = (sum(shelf[key] for shelf in shelves) for key in ("matched", "found", "truth"))
        spines, spines_found = (sum(shelf[key] for shelf in shelves) for key in ("spines", "spines_found"))
        runs.append({"seed": seed, "shelves": len(shelves), "books": books, "found": found, "matched": matched,
                     "precision": round(matched / found, 4) if found else 0.0,
                     "recall": round(matched / books, 4) if books else 0.0,
                     "spine_recall": round(spines_found / spines, 4) if spines else 0.0})
    mean = {f"run_mean_{key}": round(statistics.fmean(run[key] for run in runs), 4)
            for key in ("precision", "recall", "spine_recall")}
    worst = {f"run_min_{key}": min(run[key] for run in runs) for key in ("precision", "recall")}
    return {"runs": runs, **mean, **worst}


def bench_bookcase(args: argparse.Namespace) -> int:
    """Fresh synthetic shelves (one shelf a photo), each run whole and as a bookcase of overlapping parts."""
    import random

    from bench.bookcase import bookcase_benchmark
    from bench.shelves import make_shelf_photo, read_catalog

    def refuse(message: str) -> int:
        print(f"bookimg bench bookcase: {message}", file=sys.stderr)
        return 2

    catalog = Path(args.catalog) if args.catalog else SHARED_DATASET / "library_books.csv"
    if args.count < 1 or args.parts < 2 or args.overlap < 1:
        return refuse("--count must be at least 1, --parts at least 2 and --overlap at least 1")
    if not catalog.is_file():
        return refuse(f"no such catalog: {catalog}")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    print(f"bookimg bench bookcase: seed {seed} (repeat this run with --seed {seed})", file=sys.stderr)
    out_dir = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix=f"bookimg-bookcase-{seed}-"))
    try:
        books = read_catalog(catalog)
        photos = [(f"{seed}-{index}", make_shelf_photo(books, f"{seed}-{index}", two_shelf_share=0.0)[1])
                  for index in range(args.count)]
        result = bookcase_benchmark(photos, catalog, out_dir, parts=args.parts, overlap=args.overlap,
                                    timeout_s=max(900.0, 120.0 * args.count))
    except ValueError as error:  # ShelfInputError, a shelf too short to cut
        return refuse(str(error))
    result = {"seed": seed, **result, "out_dir": str(out_dir)}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"{result['shelves']} shelves, each whole and in {args.parts} parts sharing {args.overlap} spines:")
    print(f"  whole:  precision {result['whole_precision']:.3f}  recall {result['whole_recall']:.3f}")
    print(f"  merged: precision {result['merged_precision']:.3f}  recall {result['merged_recall']:.3f}  "
          f"(gaps {result['precision_gap']:+.3f} / {result['recall_gap']:+.3f}); "
          f"{result['listed_twice']} book(s) listed twice")
    print(f"  the parts' lists one after the other: precision {result['concatenated_precision']:.3f}, "
          f"{result['concatenated_listed_twice']} book(s) listed twice")
    for shelf in result["per_shelf"]:
        print(f"  shelf {shelf['seed']}: {shelf['whole']['truth']} books; whole {shelf['whole']['matched']} named, "
              f"merged {shelf['merged']['matched']} of {shelf['merged']['found']} listed, "
              f"{shelf['seen_in_several']} seen in two photos ({shelf['status']})")
    return 0


def run_bench(args: argparse.Namespace) -> int:
    if args.bench == "quality":
        return bench_quality(args)
    if args.bench == "bookcase":
        return bench_bookcase(args)
    if args.bench == "shelves":
        return bench_shelves(args)
    if args.bench == "perf":
        from bench.perf import run_perf_benchmark

        return run_perf_benchmark(args)
    raise SystemExit(f"unknown benchmark {args.bench}")
