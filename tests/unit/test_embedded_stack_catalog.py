"""The embedded stack refuses a catalog its validation worker could not read, before starting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from embedded.embedded_stack import EmbeddedStack
from workers.catalog.local import CatalogFormatError


def _catalog(tmp_path: Path) -> Path:
    path = tmp_path / "fons.csv"
    path.write_text("Titol,Autor\nNada,\"Laforet, Carmen\"\n", "utf-8")
    return path


def test_a_catalog_without_its_title_column_is_refused(tmp_path: Path):
    stack = EmbeddedStack(work_dir=tmp_path, catalog_csv=_catalog(tmp_path))
    with pytest.raises(CatalogFormatError, match="'title'"):
        stack.check_catalog()
    assert stack.endpoint is None  # nothing was started


def test_the_catalog_columns_setting_maps_the_title_column(tmp_path: Path):
    columns = {"title": "Titol", "author": "Autor"}
    EmbeddedStack(work_dir=tmp_path, catalog_csv=_catalog(tmp_path), config={"catalogColumns": columns}).check_catalog()
    # as `pulumi config` hands structured values over: JSON text
    text = '{"title": "Titol"}'
    EmbeddedStack(work_dir=tmp_path, catalog_csv=_catalog(tmp_path), config={"catalogColumns": text}).check_catalog()


def test_an_online_catalog_needs_no_csv(tmp_path: Path):
    EmbeddedStack(work_dir=tmp_path, catalog_csv=_catalog(tmp_path), config={"catalog": "openlibrary"}).check_catalog()
