"""Worker packages: Lambda's platform, only the worker's own source, deterministic zips, a cache,
no pip at all when buildPackages is false, and S3 for zips over 50 MB."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import pulumi
import pytest

from infra import packaging
from infra.config import STAGES
from infra.packaging import WorkerPackage


def _no_pip(*args, **kwargs):
    raise AssertionError(f"pip must not run: {args}")


def test_build_packages_false_runs_no_pip_and_ships_the_workers_source(deploy, monkeypatch):
    # Given a stack that runs the source in place
    monkeypatch.setattr(packaging.subprocess, "run", _no_pip)
    monkeypatch.setattr(packaging, "build_package", _no_pip)
    # When the program runs
    stack = deploy({"buildPackages": False})
    # Then every function's code is an archive of that worker's own source files
    for stage, function in stack.functions.items():
        code = function.inputs["code"]
        assert isinstance(code, pulumi.AssetArchive)
        files = set(code.assets)
        assert f"workers/{stage}/__init__.py" in files
        assert "workers/common/settings.py" in files
        assert "models/messages.py" in files
        others = {s for s in STAGES if s != stage and s not in packaging.EXTRA_SOURCES.get(stage, ())}
        assert not [f for f in files if f.split("/")[:2] in (["workers", o] for o in others)]


def test_source_files_are_only_what_the_worker_imports():
    files = {p.as_posix() for p in packaging.source_files("validation")}
    assert "workers/__init__.py" in files
    assert {f.split("/")[0] for f in files} == {"models", "workers"}
    assert {f.split("/")[1] for f in files if f.startswith("workers/") and f.count("/") > 1} == {
        "common", "validation", "catalog"}


def test_both_stages_that_use_the_catalog_ship_it_and_no_other_stage():
    files = {p.as_posix() for p in packaging.source_files("bedrock")}
    assert "workers/catalog/matcher.py" in files and "workers/catalog/factory.py" in files
    assert not [f for f in files if f.startswith("workers/validation/")]
    assert not [f for f in files if f.endswith(".pyc") or "__pycache__" in f]


@pytest.mark.parametrize("worker", [*STAGES, *packaging.EDGE_WORKERS])
def test_a_function_package_holds_its_requirements_which_include_the_common_ones(worker):
    path = packaging.requirements_file(worker)
    assert path == packaging.REPO_ROOT / "workers" / worker / "requirements.txt" and path.is_file()
    included = [name for name, _ in packaging._requirement_texts(worker)]
    assert included[:2] == [f"workers/{worker}/requirements.txt", "workers/common/requirements.txt"]


@pytest.mark.parametrize("worker", [*STAGES, *packaging.EDGE_WORKERS])
def test_a_workers_sample_events_and_requirements_do_not_ship_in_its_package(worker):
    files = [p.as_posix() for p in packaging.source_files(worker)]
    assert f"workers/{worker}/handler.py" in files
    assert not [f for f in files if f.startswith("workers/") and not f.endswith(".py")]


@pytest.mark.parametrize(("arch", "tag"), [("x86_64", "x86_64"), ("arm64", "aarch64")])
def test_pip_targets_lambdas_platform_not_this_machines(arch, tag, tmp_path):
    command = packaging.pip_command("bedrock", arch=arch, runtime="python3.12", target=tmp_path)
    joined = " ".join(command)
    for platform in (f"manylinux2014_{tag}", f"manylinux_2_28_{tag}", f"manylinux_2_34_{tag}"):
        assert f"--platform {platform}" in joined
    assert "--implementation cp" in joined
    assert "--python-version 3.12" in joined
    assert "--only-binary=:all:" in command
    assert f"--target {tmp_path}" in joined
    assert joined.endswith(f"-r {packaging.requirements_file('bedrock')} -c {packaging.CONSTRAINTS_FILE}")


def test_requirements_pin_every_package_and_rapidocr_stays_out():
    for stage in STAGES:
        lines = packaging.requirements_file(stage).read_text().lower().splitlines()
        text = "\n".join(line for line in lines if not line.startswith("#"))
        assert "rapidocr" not in text.lower() and "onnxruntime" not in text.lower()
    constraints = packaging.CONSTRAINTS_FILE.read_text().splitlines()
    pins = [line for line in constraints if line and not line.startswith("#")]
    assert pins and all("==" in line for line in pins)
    assert any(line.startswith("boto3==") for line in pins)


def _tree(root: Path, mtime: int, mode: int) -> Path:
    for rel, content in {"b/mod.py": b"x = 1\n", "a.py": b"print()\n", "b/__pycache__/mod.pyc": b"junk"}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(mode)
        os.utime(path, (mtime, mtime))
    return root


def test_zips_are_byte_identical_whatever_the_files_dates_and_modes(tmp_path):
    # Given the same files written at different times with different permissions
    first = _tree(tmp_path / "one", mtime=1_600_000_000, mode=0o600)
    second = _tree(tmp_path / "two", mtime=1_700_000_000, mode=0o755)
    # When both are zipped
    packaging.write_deterministic_zip(first, tmp_path / "one.zip")
    packaging.write_deterministic_zip(second, tmp_path / "two.zip")
    # Then the zips are identical, sorted, dated 1980, mode 0644, without bytecode
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == ["a.py", "b/mod.py"]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def _fake_pip(calls):
    def run(command, **kwargs):
        calls.append(command)
        target = Path(command[command.index("--target") + 1])
        (target / "fakedep").mkdir(parents=True)
        (target / "fakedep" / "__init__.py").write_text("VERSION = 1\n")
        (target / "bin").mkdir()
        (target / "bin" / "tool").write_text("#!/bin/sh\n")
        return subprocess.CompletedProcess(command, 0, "", "")

    return run


def test_builds_are_cached_by_a_hash_of_their_inputs(tmp_path, monkeypatch):
    calls: list[list[str]] = []
    runner = _fake_pip(calls)
    # Given a first build
    first = packaging.build_package("ingest", arch="x86_64", build_dir=tmp_path, runner=runner)
    # When the same inputs are built again, pip does not run
    again = packaging.build_package("ingest", arch="x86_64", build_dir=tmp_path, runner=runner)
    assert again == first and len(calls) == 1
    # but another architecture is another package
    other = packaging.build_package("ingest", arch="arm64", build_dir=tmp_path, runner=runner)
    assert other != first and len(calls) == 2
    # and a change of inputs rebuilds, replacing the superseded zip of that target
    monkeypatch.setattr(packaging, "input_hash", lambda *a, **k: "f" * 64)
    rebuilt = packaging.build_package("ingest", arch="x86_64", build_dir=tmp_path, runner=runner)
    assert len(calls) == 3
    assert sorted(tmp_path.glob("*.zip")) == sorted([rebuilt, other])
    # and the zip holds the dependencies and the worker's source, not console scripts
    with zipfile.ZipFile(rebuilt) as archive:
        names = set(archive.namelist())
    assert "fakedep/__init__.py" in names
    assert "workers/common/settings.py" in names
    assert not [n for n in names if n.startswith(("bin/", "workers/bedrock/"))]


def test_a_failed_pip_leaves_no_cached_package(tmp_path):
    def failing(command, **kwargs):
        return subprocess.CompletedProcess(command, 1, "", "no matching distribution")

    with pytest.raises(RuntimeError, match="no matching distribution"):
        packaging.build_package("ingest", build_dir=tmp_path, runner=failing)
    assert not list(tmp_path.glob("*.zip"))


def test_packages_over_50_mb_are_uploaded_through_an_artifact_bucket(deploy, monkeypatch, tmp_path):
    # Given a bedrock package too big for a direct upload
    big = tmp_path / "bedrock.zip"
    big.write_bytes(b"zip")
    real = packaging.worker_package

    def fake(worker, **kwargs):
        if worker == "bedrock":
            return WorkerPackage(
                worker, pulumi.FileArchive(str(big)), path=big, zipped_bytes=60 * 2**20, sha256_b64="abc="
            )
        return real(worker, **{**kwargs, "build": False})

    monkeypatch.setattr("infra.program.worker_package", fake)
    stack = deploy()
    # Then it goes to S3 as an object, and the function points at it
    (obj,) = [o for o in stack.of_type("aws:s3/bucketObjectv2:BucketObjectv2") if o.inputs["key"].startswith("lambda/")]
    function = stack.functions["bedrock"]
    assert "code" not in function.inputs
    assert function.inputs["s3Bucket"] == obj.inputs["bucket"]
    assert function.inputs["s3Key"] == obj.inputs["key"] == "lambda/bedrock.zip"
    assert function.inputs["sourceCodeHash"] == "abc="
    # while small packages are still uploaded directly
    assert "code" in stack.functions["ingest"].inputs


@pytest.mark.slow
def test_ingest_package_builds_for_lambda_and_fits_its_limits():
    # Given the real build (pip against the registry; cached under build/lambda/ afterwards)
    path = packaging.build_package("ingest", arch="x86_64", runtime="python3.12")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        unzipped = sum(info.file_size for info in archive.infolist()) / 2**20
    # Then it fits Lambda: direct upload and the unzipped limit
    assert path.stat().st_size / 2**20 < 50 and unzipped < 250
    # and its compiled wheels are for Lambda's CPython 3.12 on Linux, not this machine's 3.11
    assert any(n.startswith("pydantic_core/") and "cpython-312-x86_64-linux-gnu" in n for n in names)
    assert not any("cpython-311" in n for n in names)
    assert "workers/common/settings.py" in names
    assert not [n for n in names if n.startswith("workers/bedrock/")]
