"""`bookimg audit`: a library shelf's photos through the pipeline, and what is out of place on it.

The audit itself is the validation stage's (`workers.validation.audit`): every result whose spines show call
numbers carries one. This module only says it to a person or, with `--json`, to a script.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from models import JobStatus

if TYPE_CHECKING:
    from cli.identify import PhotoRun

NO_CALL_NUMBERS = "the spines show no call numbers (a home shelf, a stack or a cover): there is no order to audit"


def audit_json(run: PhotoRun) -> dict[str, Any]:
    """One photo's audit for a script: `out_of_order` (title, tag, where it belongs), `other_section`,
    `not_on_shelf`, and why there is none when there is none."""
    audit = run.audit
    line: dict[str, Any] = {
        "photo": str(run.photo), "job_id": run.job_id,
        "status": run.status.value if run.status else "unknown", "error": run.error,
        "out_of_order": [], "other_section": [], "not_on_shelf": [], "ranges": [], "note": None,
    }
    if audit is None:
        line["note"] = NO_CALL_NUMBERS if run.status == JobStatus.COMPLETED else run.error
        return line
    line |= {
        "out_of_order": [{"title": b.title, "tag": b.tag, "belongs": b.belongs, "belongs_after": b.belongs_after,
                          "belongs_before": b.belongs_before, "row": b.row, "position": b.position}
                         for b in audit.out_of_order],
        "other_section": [{"title": b.title, "tag": b.tag, "section": b.section, "shelf_sections": b.shelf_sections,
                           "row": b.row, "position": b.position} for b in audit.other_section],
        "not_on_shelf": [{"title": b.title, "author": b.author, "tag": b.tag, "isbn": b.isbn, "row": b.row}
                         for b in audit.not_on_shelf],
        "ranges": audit.ranges, "note": audit.note, "audited": audit.audited,
    }
    return line


def print_audit(run: PhotoRun, console: Console) -> None:
    line = audit_json(run)
    if run.status != JobStatus.COMPLETED:
        console.print(f"[red]{run.photo.name}: {line['status']} — {run.error}[/red]", highlight=False)
        return
    if run.audit is None:
        console.print(f"{run.photo.name}: no audit — {line['note']}", highlight=False)
        return
    console.print(f"{run.photo.name}: {line['audited']} book(s) with call numbers; " + "; ".join(line["ranges"]),
                  highlight=False)
    if line["out_of_order"]:
        table = Table(title="Out of call-number order (the fewest to move)")
        for column in ("row", "#", "title", "call number", "belongs"):
            table.add_column(column)
        for b in line["out_of_order"]:
            table.add_row(str(b["row"] + 1), str(b["position"]), b["title"], b["tag"], b["belongs"])
        console.print(table)
    for b in line["other_section"]:
        console.print(f"  From another section ({b['section']}, the row holds {', '.join(b['shelf_sections'])}): "
                      f"{b['title']} ({b['tag']}), row {b['row'] + 1} #{b['position']}", highlight=False)
    if line["not_on_shelf"]:
        console.print(f"  Not on the shelf (on loan, missing or misfiled): {len(line['not_on_shelf'])}",
                      highlight=False)
        for b in line["not_on_shelf"]:
            console.print(f"    {b['tag']}  {b['title']}", highlight=False)
    if not (line["out_of_order"] or line["other_section"] or line["not_on_shelf"]):
        console.print("  Everything seen is in order, and nothing in its range is missing.")
    if line["note"]:
        console.print(f"  [dim]{line['note']}[/dim]", highlight=False)
