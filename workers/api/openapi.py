"""The OpenAPI 3.1 description of the HTTP API, generated from the route table (`workers/api/routes.py`)
and the pydantic models the routes answer with (`models/api.py`).

`GET /openapi.json` serves it; `python -m models.schemas` writes it to `models/schemas/openapi.json` (a unit
test fails while the file is stale). It does not depend on the stack's config: which caller authentication
applies (none, API key or JWT) is the stack's choice, so every scheme is described and each operation
lists them as alternatives.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from models.api import API_SCHEMA_VERSION, ErrorMessage, ProgressMessage, ResultMessage, SubscribeRequest
from models.messages import JOB_ID_PATTERN
from workers.api.routes import ROUTES, Route, paths

REF = "#/components/schemas/{model}"
WEBSOCKET_FRAMES: tuple[type[BaseModel], ...] = (SubscribeRequest, ProgressMessage, ResultMessage, ErrorMessage)
"""Not HTTP, so in no path: described as components, for clients of the WebSocket API."""

DESCRIPTION = f"""\
Photograph a shelf, get back the list of books in it.

`POST /jobs` answers with a presigned POST: upload the photo to its `url` with its `fields` (the file last),
then follow the job with `GET /jobs/{{id}}` and the job's token, or over the WebSocket API (send a
`SubscribeRequest`; `ProgressMessage`, `ResultMessage` and `ErrorMessage` frames come back).

Every payload is snake_case and carries `schema_version` "{API_SCHEMA_VERSION}" (version 1 was camelCase).
Caller authentication is the stack's `bookimg:apiAuth`: none, an API key (`x-api-key`) or a JWT
(`Authorization: Bearer`); a job's own token opens that job. A method a path does not have answers 405 with
`Allow`."""

SECURITY_SCHEMES = {
    "api_key": {"type": "apiKey", "in": "header", "name": "x-api-key", "description": "bookimg:apiAuth apiKey"},
    "jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "bookimg:apiAuth jwt"},
    "job_token": {"type": "apiKey", "in": "header", "name": "X-Job-Token", "description": "The job's token"},
    "job_token_query": {"type": "apiKey", "in": "query", "name": "token", "description": "The job's token"},
    "job_token_bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "The job's token, when the stack's caller authentication is not a JWT",
    },
}
CALLER = [{}, {"api_key": []}, {"jwt": []}]
"""`{}`: with `apiAuth: none` a caller needs nothing."""
JOB_READER = [{"job_token": []}, {"job_token_query": []}, {"job_token_bearer": []}]
"""Every alternative needs the job's token; with `apiAuth: apiKey` the key is sent beside it, with `jwt` the
JWT goes in `Authorization` and the token in `X-Job-Token` or `?token=`."""


def _component_schemas() -> tuple[dict[str, Any], dict[tuple[type[BaseModel], str], dict[str, Any]]]:
    """Every model's schema under components; and, for each (model, mode), the `$ref` to it."""
    wanted: dict[tuple[type[BaseModel], str], None] = {}
    for route in ROUTES:
        if route.request_body is not None:
            wanted[(route.request_body, "validation")] = None
        for _, model in route.responses.values():
            if model is not None:
                wanted[(model, "serialization")] = None
    for frame in WEBSOCKET_FRAMES:
        wanted[(frame, "validation" if frame is SubscribeRequest else "serialization")] = None
    refs, top = models_json_schema(list(wanted), ref_template=REF)  # type: ignore[arg-type]
    return top.get("$defs", {}), refs


def _parameters(route: Route) -> list[dict[str, Any]]:
    declared = {p.name for p in route.params if p.where == "path"}
    missing = set(re.findall(r"\{([^}+]+)\+?\}", route.path)) - declared
    if missing:
        raise ValueError(f"{route.key}: path parameter(s) {sorted(missing)} not described in its params")
    parameters = []
    for param in route.params:
        schema = dict(param.schema)
        if param.where == "path" and param.name == "id":
            schema.setdefault("pattern", JOB_ID_PATTERN)
        parameters.append(
            {
                "name": param.name,
                "in": param.where,
                "required": param.required or param.where == "path",
                "description": param.description,
                "schema": schema,
            }
        )
    return parameters


def _operation(route: Route, refs: dict[tuple[type[BaseModel], str], dict[str, Any]]) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": route.operation_id, "summary": route.summary}
    if parameters := _parameters(route):
        operation["parameters"] = parameters
    if route.request_body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(route.request_body, "validation")]}},
        }
    responses: dict[str, Any] = {}
    for status, (description, model) in sorted(route.responses.items()):
        schema = refs[(model, "serialization")] if model is not None else {"type": "object"}
        responses[str(status)] = {"description": description, "content": {"application/json": {"schema": schema}}}
    operation["responses"] = responses
    if route.job_token:
        operation["security"] = JOB_READER
    elif route.caller_auth:
        operation["security"] = CALLER
    else:
        operation["security"] = [{}]
    return operation


@cache
def openapi_document() -> dict[str, Any]:
    schemas, refs = _component_schemas()
    by_key = {route.key: route for route in ROUTES}
    document_paths: dict[str, Any] = {}
    for path, methods in paths().items():
        document_paths[path] = {method.lower(): _operation(by_key[f"{method} {path}"], refs) for method in methods}
    return {
        "openapi": "3.1.0",
        "info": {"title": "BookImg API", "version": API_SCHEMA_VERSION, "description": DESCRIPTION},
        "paths": document_paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }
