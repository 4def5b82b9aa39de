"""Lambda entry point of the candidates stage (`OcrResult` -> `Candidates`)."""

from __future__ import annotations

from functools import lru_cache

from models import OcrResult, Stage
from workers import entry_point
from workers.bedrock.builder import CandidateBuilder
from workers.bedrock.logic import find_candidates
from workers.common.batch import process_stage_batch
from workers.common.context import worker_context
from workers.common.settings import Settings


def make_claude_builder(settings: Settings) -> CandidateBuilder:
    from workers.bedrock.claude import ClaudeCandidateBuilder, make_claude_client

    api_key = None
    if settings.claude_client == "anthropic" and settings.anthropic_api_key_parameter:
        from workers.common.secrets import get_secret_value

        api_key = get_secret_value(settings.anthropic_api_key_parameter)
    client = make_claude_client(settings.claude_client, base_url=settings.anthropic_base_url, api_key=api_key)
    return ClaudeCandidateBuilder(client, settings.profiles)


def make_builder(settings: Settings) -> CandidateBuilder:
    """Hybrid (catalog first, Claude for the rest) or Claude in the cloud; offline on the embedded stack.

    The hybrid builder creates its catalog and its Claude client on first use, so neither `anthropic`
    nor the catalog is imported during the cold start."""
    if settings.candidate_provider == "hybrid":
        from workers.bedrock.hybrid import HybridCandidateBuilder

        def catalog():
            from workers.catalog.factory import make_catalog

            return make_catalog(settings)

        return HybridCandidateBuilder.on_first_use(
            catalog, lambda: make_claude_builder(settings), crop_budget=settings.claude_crop_budget
        )
    if settings.candidate_provider == "claude":
        return make_claude_builder(settings)
    from workers.bedrock.offline import OfflineCandidateBuilder

    return OfflineCandidateBuilder()


@lru_cache(maxsize=1)
def builder() -> CandidateBuilder:
    ctx = worker_context()
    built = make_builder(ctx.settings)
    return ctx.faults.wrap(built, "build", provider="candidates") if ctx.faults.enabled else built


@entry_point
def handler(event, context):
    ctx = worker_context()
    return process_stage_batch(
        event,
        context,
        ctx,
        stage=Stage.CANDIDATES,
        message_type=OcrResult,
        process=lambda ocr: find_candidates(ocr, builder(), ctx),
    )
