"""The process's one botocore session, with a data loader that reads botocore's models faster.

Creating a client is mostly botocore reading its JSON data (the service model, the endpoint rule set,
`endpoints.json`): about as long as importing boto3 itself, at every cold start. Two changes to how that
data is read, installed as the session's `data_loader` component, make it much cheaper without changing
what is loaded:

- JSON is decoded into plain dicts: botocore asks for `OrderedDict`s, which makes the C decoder call back
  into Python for every object; dicts keep insertion order all the same;
- whether a service exists is checked in that service's directory only, instead of listing every
  service of the SDK twice per client (`list_available_services` itself is unchanged).
"""

from __future__ import annotations

import gzip
import json
import os
from functools import cache
from typing import Any

from botocore.exceptions import DataNotFoundError
from botocore.loaders import JSONFileLoader, Loader, create_loader, instance_cache


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


class FastLoader(Loader):
    """botocore's loader, reading JSON with `PlainJSONFileLoader`, and checking that a service exists by looking
    at that service's directory only (botocore lists every service of the SDK to check one, per model type)."""

    FILE_LOADER_CLASS = PlainJSONFileLoader

    @instance_cache
    def load_service_model(self, service_name: str, type_name: str, api_version: str | None = None) -> Any:
        try:
            known = bool(self.list_api_versions(service_name, type_name))  # what the full listing checks, per service
        except DataNotFoundError:
            known = False
        if not known or not hasattr(self, "_find_extras") or not hasattr(self, "_extras_processor"):
            return super().load_service_model(service_name, type_name, api_version)  # raises UnknownServiceError
        # from here on, botocore's own `Loader.load_service_model`
        if api_version is None:
            api_version = self.determine_latest_version(service_name, type_name)
        model = self.load_data(os.path.join(service_name, api_version, type_name))
        self._extras_processor.process(model, self._find_extras(service_name, type_name, api_version))
        return model


@cache
def session():
    """One botocore session per process: its loader parses each model once, for every client."""
    import botocore.session

    created = botocore.session.get_session()
    base = create_loader(created.get_config_variable("data_path"))  # honours AWS_DATA_PATH
    loader = FastLoader(extra_search_paths=base.search_paths, include_default_search_paths=False)
    created.register_component("data_loader", loader)
    return created
