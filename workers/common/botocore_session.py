"""The process's one botocore session, with a data loader that reads botocore's models faster.

Creating a client is mostly botocore reading its JSON data (the service model, the endpoint rule set,
`endpoints.json`): about as long as importing boto3 itself, at every cold start. Two changes to how
that data is read, through botocore's own extension points (`Loader(file_loader=...)` and the session's
`data_loader` component), halve it without changing what is loaded:

- JSON is decoded into plain dicts: botocore asks for `OrderedDict`s, which makes the C decoder call back
  into Python for every object (5x slower on `endpoints.json`); dicts keep insertion order all the same;
- `service in known_services` looks only at that service's directory, instead of listing the ~450
  services of the SDK twice per client (the full, sorted list is still built when anything asks for it).
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Sequence
from functools import cache, cached_property
from typing import Any

from botocore.exceptions import DataNotFoundError
from botocore.loaders import JSONFileLoader, Loader, create_loader


class PlainJSONFileLoader(JSONFileLoader):
    """botocore's JSON file loader (`.json`, then `.json.gz`), decoding into plain dicts."""

    EXTENSIONS = (".json", ".json.gz")

    def exists(self, file_path: str) -> bool:
        return any(os.path.isfile(file_path + ext) for ext in self.EXTENSIONS)

    def load_file(self, file_path: str) -> Any:
        for ext in self.EXTENSIONS:
            full_path = file_path + ext
            if not os.path.isfile(full_path):
                continue
            with open(full_path, "rb") as fp:
                payload = fp.read()
            if ext.endswith(".gz"):
                payload = gzip.decompress(payload)
            return json.loads(payload.decode("utf-8"))
        return None


class KnownServices(Sequence):
    """`Loader.list_available_services(type_name)`, listed only when iterated: membership, all that creating
    a client asks, checks the one service's API versions (as the full listing would find them)."""

    def __init__(self, loader: Loader, type_name: str):
        self._loader = loader
        self._type_name = type_name

    @cached_property
    def _all(self) -> list[str]:
        return Loader.list_available_services(self._loader, self._type_name)

    def __contains__(self, service_name: object) -> bool:
        if not isinstance(service_name, str) or not service_name or os.sep in service_name:
            return service_name in self._all
        try:
            return bool(self._loader.list_api_versions(service_name, self._type_name))
        except DataNotFoundError:
            return False

    def __getitem__(self, index):  # type: ignore[override]
        return self._all[index]

    def __len__(self) -> int:
        return len(self._all)

    def __iter__(self):
        return iter(self._all)

    def __eq__(self, other: object) -> bool:
        return self._all == (list(other) if isinstance(other, Sequence) else other)

    def __repr__(self) -> str:
        return repr(self._all)


class FastLoader(Loader):
    FILE_LOADER_CLASS = PlainJSONFileLoader

    def list_available_services(self, type_name: str) -> KnownServices:  # type: ignore[override]
        return KnownServices(self, type_name)


@cache
def session():
    """One botocore session per process: its loader parses each model once, for every client."""
    import botocore.session

    created = botocore.session.get_session()
    base = create_loader(created.get_config_variable("data_path"))  # honours AWS_DATA_PATH
    loader = FastLoader(extra_search_paths=base.search_paths, include_default_search_paths=False)
    created.register_component("data_loader", loader)
    return created
