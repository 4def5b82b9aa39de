"""Export the JSON Schemas of the hop models and of the client payloads to `models/schemas/`, and the HTTP
API's OpenAPI document beside them, so non-Python consumers (webhook receivers, the web page, a user's own
client) can validate what we send them.

Each schema's `$id` names its version (`urn:bookimg:schema:job-view:2`): the hop messages are at
`SCHEMA_VERSION`, what a client reads at `API_SCHEMA_VERSION`, as their `schema_version` fields say.

Run `python -m models.schemas` after changing a model or a route; a unit test fails while they are out of sync.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from models.api import API_SCHEMA_VERSION, CLIENT_MODELS, CreateBookcaseRequest, CreateJobRequest, SubscribeRequest
from models.messages import HOP_MODELS, SCHEMA_VERSION

SCHEMA_DIR = Path(__file__).parent / "schemas"
OPENAPI_FILE = "openapi.json"
RECEIVED = (CreateJobRequest, CreateBookcaseRequest, SubscribeRequest)
"""Client payloads we receive: their schema is what we accept (validation), not what we send."""


def schema_id(name: str, version: str) -> str:
    return f"urn:bookimg:schema:{name}:{version}"


def _render(name: str, model: type[BaseModel], version: str) -> str:
    schema: dict[str, Any] = {
        "$id": schema_id(name, version),
        **model.model_json_schema(mode="validation" if model in RECEIVED else "serialization"),
    }
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def render_schemas() -> dict[str, str]:
    from workers.api.openapi import openapi_document  # the route table lives with the API

    files = {f"{name}.schema.json": _render(name, model, SCHEMA_VERSION) for name, model in HOP_MODELS.items()}
    files |= {f"{name}.schema.json": _render(name, model, API_SCHEMA_VERSION) for name, model in CLIENT_MODELS.items()}
    files[OPENAPI_FILE] = json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"
    return files


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, text in render_schemas().items():
        path = directory / filename
        path.write_text(text)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_schemas():
        print(path)
