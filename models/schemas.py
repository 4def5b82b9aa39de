"""Export the JSON Schemas of the hop models to `models/schemas/`, so non-Python consumers
(webhook receivers, the web page) can validate what we send them.

Run `python -m models.schemas` after changing a model; a unit test fails while they are out of sync.
"""

from __future__ import annotations

import json
from pathlib import Path

from models.messages import HOP_MODELS

SCHEMA_DIR = Path(__file__).parent / "schemas"


def render_schemas() -> dict[str, str]:
    return {
        f"{name}.schema.json": json.dumps(model.model_json_schema(mode="serialization"), indent=2, sort_keys=True)
        + "\n"
        for name, model in HOP_MODELS.items()
    }


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
