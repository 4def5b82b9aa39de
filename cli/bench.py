"""`bookimg bench ...`: commands that print figures (speed and quality live here, not in timed tests)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from embedded.local_stack import DEMO_DIR, LocalStack
from embedded.webhook import WebhookReceiver

SHARED_DATASET = Path(__file__).resolve().parents[2] / "shared" / "data" / "library-dataset"


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
    stack and are scored apart: the photo_* figures stay those of the photos as given."""
    from bench.photo_variants import write_variants
    from bench.quality import photo_scores
    from cli.identify import run_photos

    with (
        WebhookReceiver() as receiver,
        tempfile.TemporaryDirectory() as work_dir,
        LocalStack(work_dir=Path(work_dir), catalog_csv=catalog, webhooks=[receiver.url], emails=[]) as stack,
    ):
        extra = [(photo, truth, variant, path) for photo, truth in zip(photos, truths, strict=True)
                 for variant, path in (write_variants(photo, Path(work_dir)) if variants else [])]
        started = time.perf_counter()
        runs = run_photos(stack, receiver, photos, timeout_s=timeout_s, console=None)
        elapsed = time.perf_counter() - started
        variant_runs = run_photos(stack, receiver, [path for *_, path in extra], timeout_s=timeout_s, console=None)
    per_photo = []
    for run, truth in zip(runs, truths, strict=True):
        scores = photo_scores(run.result.books if run.result else [], truth)
        per_photo.append({"photo": str(run.photo), "status": run.status.value if run.status else None, **scores})
    precision, recall, f1 = _pooled(per_photo)
    result = {
        "photo_precision": round(precision, 4),
        "photo_recall": round(recall, 4),
        "photo_f1": round(f1, 4),
        "seconds_per_photo": round(elapsed / len(photos), 2),
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


def bench_quality(args: argparse.Namespace) -> int:
    from bench.quality import format_quality_table, read_truth, run_spine_benchmark

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
    result: dict = {}
    try:  # a catalog without its title column is refused by the first reader of it, the spines or the stack
        for truth in truths:  # before the photos take their minutes, not after
            read_truth(truth)
        if args.spines or (not photos and spines.is_file()):  # photos alone: no spine figures against their catalog
            result.update(run_spine_benchmark(spines, catalog, folds=args.folds))
        if photos:
            result.update(photo_benchmark(photos, truths, catalog, variants=args.variants))
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


def run_bench(args: argparse.Namespace) -> int:
    if args.bench == "quality":
        return bench_quality(args)
    if args.bench == "perf":
        from bench.perf import run_perf_benchmark

        return run_perf_benchmark(args)
    raise SystemExit(f"unknown benchmark {args.bench}")
