"""Lambda entry point of the merge stage (`JobResult` of a photo -> results bucket, job table, SNS)."""

from __future__ import annotations

from models import Stage
from workers.common.stage import stage_handler
from workers.merge.logic import finish_photo

handler = stage_handler(Stage.MERGE, lambda result, ctx: finish_photo(result, ctx))
