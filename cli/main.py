"""The `bookimg` command."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

DEFAULT_WORK_DIR = Path(".bookimg")


def _cmd_identify(args: argparse.Namespace) -> int:
    from cli.identify import identify

    return identify(
        [Path(p) for p in args.photos],
        catalog=Path(args.catalog) if args.catalog else None,
        as_json=args.json,
        work_dir=Path(args.work_dir),
        timeout_s=args.timeout,
        profile=args.profile,
        outputs_file=Path(args.outputs) if args.outputs else None,
        stack_name=args.stack,
        api_key=args.api_key,
        export_format=args.export,
        export_to=Path(args.out) if args.out else None,
        bookcase=args.bookcase,
    )


def _cmd_audit(args: argparse.Namespace) -> int:
    from cli.identify import identify

    return identify([Path(p) for p in args.photos], catalog=Path(args.catalog), as_json=args.json,
                    work_dir=Path(args.work_dir), timeout_s=args.timeout, profile=args.profile, audit=True)


def _cmd_jobs(args: argparse.Namespace) -> int:
    from cli.jobs import run_jobs

    return run_jobs(
        args.action,
        list(args.job_ids),
        work_dir=Path(args.work_dir),
        outputs_file=Path(args.outputs) if args.outputs else None,
        stack=args.stack,
        api_key=args.api_key,
        token=args.token,
        as_json=args.json,
        limit=args.limit,
        cursor=args.cursor,
        export_format=args.format,
        out=Path(args.out) if args.out else None,
    )


def _add_target(parser: argparse.ArgumentParser) -> None:
    """Which stack and who: the same flags for every command that goes through the API."""
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--outputs", metavar="FILE", help="`pulumi stack output --json` of the stack to use "
                        "(`bookimg up` writes the embedded one's to .bookimg/outputs.json)")
    target.add_argument("--stack", metavar="NAME", help="run `pulumi stack output --json` for this stack")
    parser.add_argument("--api-key", metavar="KEY", help="the x-api-key of a stack with apiAuth apiKey")


def _cmd_up(args: argparse.Namespace) -> int:
    from cli.stack_outputs import OUTPUTS_FILE
    from embedded.embedded_stack import EmbeddedStack, describe_json
    from workers.catalog.local import CatalogFormatError

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    webhooks = list(args.webhook or [])
    stack = EmbeddedStack(
        work_dir=Path(args.work_dir),
        catalog_csv=Path(args.catalog) if args.catalog else None,
        webhooks=webhooks,
        log=lambda line: print(line, file=sys.stderr),
    )
    try:
        stack.check_catalog()
    except (CatalogFormatError, OSError) as error:
        print(f"bookimg up: cannot use the catalog: {error}", file=sys.stderr)
        return 2
    with stack:
        description = describe_json(stack)
        (Path(args.work_dir) / "stack.json").write_text(description)
        outputs = stack.write_outputs(Path(args.work_dir) / OUTPUTS_FILE)
        print(description, flush=True)
        print(f"Web page: {stack.page_url}", flush=True)
        print(f"Outputs: {outputs} (as `pulumi stack output --json` prints them: "
              f"bookimg identify PHOTO --outputs {outputs})", flush=True)
        print("Embedded stack is up; Ctrl-C stops it.", file=sys.stderr, flush=True)
        stop.wait(args.seconds if args.seconds else None)
        (Path(args.work_dir) / "stack.json").unlink(missing_ok=True)
        outputs.unlink(missing_ok=True)
    return 0


def _cmd_invoke(args: argparse.Namespace) -> int:
    from cli.invoke import invoke
    from models.stages import pipeline_stage

    event = Path(args.event) if args.event else pipeline_stage(args.worker).sample_event
    return invoke(args.worker, event, work_dir=Path(args.work_dir),
                  catalog=Path(args.catalog) if args.catalog else None)


def _cmd_bench(args: argparse.Namespace) -> int:
    from cli.bench import run_bench

    return run_bench(args)


def _cmd_chaos(args: argparse.Namespace) -> int:
    from bench.chaos import run_chaos
    from workers.common.faults import FAULT_KINDS

    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip()) or FAULT_KINDS
    result = run_chaos(args.jobs, fault_rate=args.rate, kinds=kinds, seed=args.seed, timeout_s=args.timeout)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>24}: {value}")
    healthy = result["lost"] == 0 and result["stuck"] == 0 and result["duplicate_notifications"] == 0
    return 0 if healthy and result["failed_without_reason"] == 0 else 1


def _cmd_dlq(args: argparse.Namespace) -> int:
    from cli.dlq import run_dlq

    return run_dlq(args.action, args.stage, work_dir=Path(args.work_dir),
                   outputs_file=Path(args.outputs) if args.outputs else None, limit=args.limit, as_json=args.json)


def build_parser() -> argparse.ArgumentParser:
    from cli.dlq import WEBHOOK_QUEUE
    from models.stages import STAGE_NAMES
    from workers.common.exports import EXPORT_FORMATS

    parser = argparse.ArgumentParser(prog="bookimg", description="Identify the books in a photo.")
    parser.add_argument("--work-dir", default=str(DEFAULT_WORK_DIR), help="logs and email outbox (default .bookimg)")
    commands = parser.add_subparsers(dest="command", required=True)

    identify = commands.add_parser(
        "identify", help="run photos through a stack's API: the embedded one, or --outputs FILE / --stack NAME"
    )
    identify.add_argument("photos", nargs="+", metavar="PHOTO")
    identify.add_argument("--catalog", metavar="CSV", help="library catalog (default: the demo catalog)")
    identify.add_argument("--json", action="store_true", help="one JSON object per photo on stdout")
    identify.add_argument("--profile", choices=["spines", "covers", "auto"], help="analysis profile")
    identify.add_argument("--timeout", type=float, default=300.0, help="seconds to wait per run (default 300)")
    identify.add_argument("--export", choices=EXPORT_FORMATS, metavar="FORMAT",
                          help=f"write the books as a file to import elsewhere ({', '.join(EXPORT_FORMATS)}), "
                               "to standard output or --out")
    identify.add_argument("--out", metavar="FILE", help="where --export writes (default: standard output)")

    _add_target(identify)
    identify.add_argument("--bookcase", metavar="NAME",
                          help="the photos are one bookcase, left to right: one job, one merged list of books")
    identify.set_defaults(func=_cmd_identify)

    jobs = commands.add_parser("jobs", help="list, show, delete or export a stack's jobs through its API")
    jobs.add_argument("action", choices=["list", "show", "delete", "export"])
    jobs.add_argument("job_ids", nargs="*", metavar="JOB", help="job id(s) for show, delete and export")
    _add_target(jobs)
    jobs.add_argument("--token", help="the job's token (default: the one kept when `bookimg identify` made it)")
    jobs.add_argument("--json", action="store_true", help="print JSON (list, show, delete)")
    jobs.add_argument("--limit", type=int, default=20, help="list: jobs per page (default 20)")
    jobs.add_argument("--cursor", help="list: the page after this cursor")
    jobs.add_argument("--format", choices=sorted(EXPORT_FORMATS), default="json", help="export: the file's format")
    jobs.add_argument("--out", metavar="PATH", help="export: write here (a folder for several jobs), not stdout")
    jobs.set_defaults(func=_cmd_jobs)

    audit = commands.add_parser("audit", help="what is out of place on a library shelf: books out of call-number "
                                "order, from another section, or in its range but not on it")
    audit.add_argument("photos", nargs="+", metavar="PHOTO")
    audit.add_argument("--catalog", metavar="CSV", required=True, help="the library's catalog, with call numbers")
    audit.add_argument("--json", action="store_true",
                       help="one JSON object per photo: out_of_order, other_section, not_on_shelf")
    audit.add_argument("--profile", choices=["spines", "covers", "auto"], help="analysis profile")
    audit.add_argument("--timeout", type=float, default=300.0, help="seconds to wait per run (default 300)")
    audit.set_defaults(func=_cmd_audit)

    up = commands.add_parser(
        "up", help="keep the embedded stack running and print its endpoints and the web page URL"
    )
    up.add_argument("--catalog", metavar="CSV")
    up.add_argument("--webhook", action="append", metavar="URL", help="subscribe a webhook to the results topic")
    up.add_argument("--seconds", type=float, default=0, help=argparse.SUPPRESS)
    up.set_defaults(func=_cmd_up)

    invoke = commands.add_parser("invoke", help="run one worker on an event file (samples: workers/<worker>/events/)")
    invoke.add_argument("worker", choices=STAGE_NAMES)
    invoke.add_argument("--event", metavar="FILE", help="default: the worker's events/sample.json")
    invoke.add_argument("--catalog", metavar="CSV")
    invoke.set_defaults(func=_cmd_invoke)

    dlq = commands.add_parser("dlq", help="list, show or redrive dead-letter queues")
    dlq.add_argument("action", choices=["list", "show", "redrive"])
    dlq.add_argument("stage", nargs="?", choices=[*STAGE_NAMES, WEBHOOK_QUEUE])
    dlq.add_argument("--outputs", metavar="FILE", help="`pulumi stack output --json` of a deployed stack")
    dlq.add_argument("--limit", type=int, default=10)
    dlq.add_argument("--json", action="store_true")
    dlq.set_defaults(func=_cmd_dlq)

    chaos = commands.add_parser("chaos", help="run jobs with faults injected at every stage")
    chaos.add_argument("--jobs", type=int, default=200)
    chaos.add_argument("--rate", type=float, default=0.1, help="share of provider/AWS calls that fail")
    chaos.add_argument("--kinds", default="", help="comma-separated fault kinds to inject (default: every kind)")
    chaos.add_argument("--seed", type=int, default=7)
    chaos.add_argument("--timeout", type=float, default=600)
    chaos.add_argument("--json", action="store_true")
    chaos.set_defaults(func=_cmd_chaos)

    bench = commands.add_parser("bench", help="benchmarks that print figures")
    bench_kinds = bench.add_subparsers(dest="bench", required=True)
    quality = bench_kinds.add_parser("quality", help="identification quality on labelled data")
    quality.add_argument("--spines", metavar="CSV", help="spine annotations (default: the shared dev split)")
    quality.add_argument("--catalog", metavar="CSV", help="library catalog (default: the shared catalog)")
    quality.add_argument("--photo", action="append", default=[], metavar="IMG")
    quality.add_argument("--truth", action="append", default=[], metavar="CSV")
    quality.add_argument("--variants", action="store_true",
                         help="also score rescaled and tilted copies of each photo (bench/photo_variants.py)")
    quality.add_argument("--two-shelves", action="store_true",
                         help="also score the shared photo's two shelves apart, each against its own truth "
                              "(choose constants on one, judge them on the other)")
    quality.add_argument("--folds", type=int, default=5, metavar="K",
                         help="cross-validate the naming bar over K folds of photos (default 5; 0 skips)")
    quality.add_argument("--json", action="store_true")
    shelves = bench_kinds.add_parser(
        "shelves", help="synthetic shelf photos from random books of a catalog, scored against their truth"
    )
    shelves.add_argument("--seed", type=int, action="append",
                         help="draw the same shelves again, once per run (default: a fresh seed, printed)")
    shelves.add_argument("--count", type=int, default=10, help="shelf photos to draw per run (default 10)")
    shelves.add_argument("--runs", type=int, default=1,
                         help="runs, each on its own seed, scored together and reported one by one and as a mean "
                              "(default 1)")
    shelves.add_argument("--catalog", metavar="CSV", help="library catalog with a tag column (default: the shared one)")
    shelves.add_argument("--out", metavar="DIR", help="where the photos and truth CSVs go (default: a temp dir)")
    shelves.add_argument("--home-share", type=float, default=0.1,
                         help="share of home shelves: random books, no call-number stickers (default 0.1)")
    shelves.add_argument("--two-shelf-share", type=float, default=0.3,
                         help="share of photos holding two shelves, one over the other (default 0.3)")
    shelves.add_argument("--sideways-share", type=float, default=0.0,
                         help="share of photos turned a quarter, as a shelf photographed on its side (default 0)")
    shelves.add_argument("--json", action="store_true")
    bookcase = bench_kinds.add_parser(
        "bookcase", help="synthetic shelves in one piece and as bookcases of overlapping parts: merged vs whole"
    )
    bookcase.add_argument("--seed", type=int, help="draw the same shelves again (default: a fresh seed, printed)")
    bookcase.add_argument("--count", type=int, default=3, help="shelves to draw (default 3)")
    bookcase.add_argument("--catalog", metavar="CSV", help="catalog with a tag column (default: the shared one)")
    bookcase.add_argument("--parts", type=int, default=2, help="photos each shelf is cut into (default 2)")
    bookcase.add_argument("--overlap", type=int, default=3, help="spines two neighbouring parts share (default 3)")
    bookcase.add_argument("--out", metavar="DIR", help="where the photos, parts and truth go (default: a temp dir)")
    bookcase.add_argument("--json", action="store_true")
    perf = bench_kinds.add_parser("perf", help="cold start, per-hop latency, throughput and cost")
    perf.add_argument("--json", action="store_true")
    perf.add_argument("--jobs", type=int, default=100, help="concurrent jobs for the throughput run")
    perf.add_argument("--runs", type=int, default=5, help="fresh interpreters per worker for cold starts")
    perf.add_argument("--skip-packages", action="store_true", help="do not build deployment packages")
    perf.add_argument("--only", choices=["cold-start"], help="measure only this part (output keys unchanged)")
    bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except json.JSONDecodeError as exc:
        print(f"bookimg: invalid JSON: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
