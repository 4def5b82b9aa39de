"""Deployment packages for the workers, built reproducibly without Docker.

`pip install --platform manylinux… --only-binary=:all:` fetches wheels for Lambda's runtime and CPU
(not this machine's), then only the source a worker imports is added, and the zip is written with
sorted entries, fixed timestamps and fixed permissions, so the same inputs give the same bytes (and
Pulumi sees no change). Builds are cached under build/lambda/ by a hash of every input.

With `buildPackages: false` (the embedded stack, which runs the source in place) no pip runs: the
function code is an `AssetArchive` of the worker's source files.

CLI: `python -m infra.packaging build [--arch x86_64|arm64] [--runtime python3.12] [--worker W]`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi

from infra.config import STAGES
from models.stages import PIPELINE

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKERS_DIR = REPO_ROOT / "workers"
REQUIREMENTS_NAME = "requirements.txt"
"""Each function package's pip requirements live in its own folder, `workers/<package>/requirements.txt`;
what every worker needs is `workers/common/requirements.txt`, which the others include with `-r`."""
CONSTRAINTS_FILE = Path(__file__).resolve().parent / "worker_constraints.txt"
BUILD_DIR = REPO_ROOT / "build" / "lambda"

DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024
"""Lambda accepts zips up to 50 MB in the API call; larger ones must come from S3."""
UNZIPPED_LIMIT = 250 * 1024 * 1024
"""Lambda's limit on a function's unzipped size, layers included."""

PACKAGING_VERSION = "1"
"""Bump to invalidate every cached package when the build recipe changes."""
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
EXCLUDED_DIRS = {"__pycache__", ".pytest_cache", "tests"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
NOT_SHIPPED = ("events", REQUIREMENTS_NAME)
"""Files in a worker's folder the function does not run: its sample events (for `bookimg invoke`, the tests
and the benchmarks) and what pip installs from."""

Runner = Callable[..., subprocess.CompletedProcess]


@dataclass(frozen=True)
class WorkerPackage:
    """A worker's code as Pulumi consumes it, with what is known about its size."""

    worker: str
    archive: pulumi.Archive
    path: Path | None = None
    zipped_bytes: int = 0
    unzipped_bytes: int = 0
    sha256_b64: str | None = None

    @property
    def needs_s3(self) -> bool:
        """Zips over the 50 MB direct-upload limit go through the artifact bucket."""
        return self.zipped_bytes > DIRECT_UPLOAD_LIMIT


def _arch_tag(arch: str) -> str:
    return {"x86_64": "x86_64", "arm64": "aarch64"}[arch]


def platform_tags(arch: str) -> list[str]:
    """Several tags: some projects (onnxruntime for cp312) publish no manylinux2014 wheel.
    python3.12+ Lambda runs Amazon Linux 2023 (glibc 2.34), so all three are safe."""
    tag = _arch_tag(arch)
    return [f"manylinux2014_{tag}", f"manylinux_2_28_{tag}", f"manylinux_2_34_{tag}"]


EXTRA_SOURCES: dict[str, tuple[str, ...]] = {stage.name: stage.libraries for stage in PIPELINE} | {
    "sweeper": ("deadletter",), "api": ("catalog",)
}
"""Shared packages of `workers/` a worker imports besides `common` (models/stages.py): the catalog, for the
hybrid candidate builder, for validation and for the API's catalog search (a reviewer replacing a book); the
dead-letter handler's, for the sweeper (stage names)."""

EDGE_WORKERS: tuple[str, ...] = ("api", "realtime", "deadletter", "sweeper")
"""Functions outside the queue pipeline: the HTTP API, the WebSocket API (handlers + notifier), the
dead-letter handler and the sweeper."""


def requirements_file(worker: str) -> Path:
    if worker not in (*STAGES, *EDGE_WORKERS):
        raise ValueError(f"unknown worker {worker!r}; expected one of {(*STAGES, *EDGE_WORKERS)}")
    return WORKERS_DIR / worker / REQUIREMENTS_NAME


def _walk(root: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in EXCLUDED_DIRS)
        for filename in sorted(filenames):
            if not filename.endswith(EXCLUDED_SUFFIXES):
                yield Path(dirpath) / filename


def source_files(worker: str, repo_root: Path = REPO_ROOT) -> list[Path]:
    """Repository-relative paths of the source a worker imports: models/, workers/common/,
    workers/<worker>/ and the package marker between them. Nothing else ships."""
    requirements_file(worker)  # validates the name
    roots = [repo_root / "models", repo_root / "workers" / "common", repo_root / "workers" / worker]
    roots += [repo_root / "workers" / extra for extra in EXTRA_SOURCES.get(worker, ())]
    files = [repo_root / "workers" / "__init__.py"]
    for root in roots:
        files.extend(p for p in _walk(root) if p.relative_to(root).parts[0] not in NOT_SHIPPED)
    return sorted(p.relative_to(repo_root) for p in files if p.is_file())


def _requirement_texts(worker: str) -> list[tuple[str, bytes]]:
    """The requirement files a worker's list pulls in (`-r` includes), plus the constraints."""
    seen: list[Path] = []

    def visit(path: Path) -> None:
        if path in seen:
            return
        seen.append(path)
        for line in path.read_text().splitlines():
            if line.strip().startswith("-r "):
                visit(path.parent / line.strip()[3:].strip())

    visit(requirements_file(worker))
    seen.append(CONSTRAINTS_FILE)
    return [(p.resolve().relative_to(REPO_ROOT).as_posix(), p.read_bytes()) for p in seen]


def input_hash(worker: str, *, arch: str, runtime: str, repo_root: Path = REPO_ROOT) -> str:
    """Hash of everything that decides a package's bytes; the cache key."""
    digest = hashlib.sha256()
    for part in (PACKAGING_VERSION, worker, arch, runtime, *platform_tags(arch)):
        digest.update(part.encode() + b"\0")
    for name, content in _requirement_texts(worker):
        digest.update(name.encode() + b"\0" + content + b"\0")
    for rel in source_files(worker, repo_root):
        digest.update(rel.as_posix().encode() + b"\0" + (repo_root / rel).read_bytes() + b"\0")
    return digest.hexdigest()


def pip_command(worker: str, *, arch: str, runtime: str, target: Path) -> list[str]:
    python_version = runtime.removeprefix("python")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile"]
    command += ["--disable-pip-version-check", "--no-warn-script-location"]
    for tag in platform_tags(arch):
        command += ["--platform", tag]
    command += ["--implementation", "cp", "--python-version", python_version, "--only-binary=:all:"]
    command += ["--target", str(target), "-r", str(requirements_file(worker)), "-c", str(CONSTRAINTS_FILE)]
    return command


def write_deterministic_zip(source_dir: Path, zip_path: Path) -> tuple[int, int]:
    """Zip a directory with sorted entries, fixed dates and modes; returns (zipped, unzipped) bytes."""
    unzipped = 0
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(_walk(source_dir), key=lambda p: p.relative_to(source_dir).as_posix()):
            info = zipfile.ZipInfo(path.relative_to(source_dir).as_posix(), date_time=ZIP_DATE)
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the mode bits above are honoured
            data = path.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data, compresslevel=9)
    return zip_path.stat().st_size, unzipped


def unzipped_size(zip_path: Path) -> int:
    with zipfile.ZipFile(zip_path) as archive:
        return sum(info.file_size for info in archive.infolist())


def package_path(worker: str, *, arch: str, runtime: str, build_dir: Path = BUILD_DIR) -> Path:
    key = input_hash(worker, arch=arch, runtime=runtime)[:16]
    return build_dir / f"{worker}-{runtime}-{arch}-{key}.zip"


def build_package(
    worker: str,
    *,
    arch: str = "x86_64",
    runtime: str = "python3.12",
    build_dir: Path = BUILD_DIR,
    runner: Runner = subprocess.run,
) -> Path:
    """Build (or reuse from the cache) a worker's zip; returns its path."""
    zip_path = package_path(worker, arch=arch, runtime=runtime, build_dir=build_dir)
    if zip_path.exists():
        return zip_path
    build_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"bookimg-{worker}-", dir=build_dir) as tmp:
        staging = Path(tmp) / "package"
        staging.mkdir()
        result = runner(
            pip_command(worker, arch=arch, runtime=runtime, target=staging),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"pip failed packaging {worker}:\n{result.stderr[-4000:]}")
        shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts: useless in Lambda
        for rel in source_files(worker):
            destination = staging / rel
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REPO_ROOT / rel, destination)
        partial = Path(tmp) / "package.zip"
        _, unzipped = write_deterministic_zip(staging, partial)
        if unzipped > UNZIPPED_LIMIT:
            raise RuntimeError(f"{worker} package is {unzipped / 2**20:.0f} MB unzipped, over Lambda's 250 MB limit")
        os.replace(partial, zip_path)  # atomic: a cached zip is always complete
    for stale in build_dir.glob(f"{worker}-{runtime}-{arch}-*.zip"):
        if stale != zip_path:  # superseded builds of the same worker and target
            stale.unlink(missing_ok=True)
    return zip_path


def source_archive(worker: str, repo_root: Path = REPO_ROOT) -> pulumi.AssetArchive:
    """The worker's own source, no dependencies, no pip: for stacks that run the code in place."""
    return pulumi.AssetArchive(
        {rel.as_posix(): pulumi.FileAsset(str(repo_root / rel)) for rel in source_files(worker, repo_root)}
    )


def worker_package(
    worker: str,
    *,
    build: bool,
    arch: str = "x86_64",
    runtime: str = "python3.12",
    runner: Runner = subprocess.run,
) -> WorkerPackage:
    """The code for one worker's Lambda: a built zip, or (build=False) its bare source."""
    if not build:
        return WorkerPackage(worker=worker, archive=source_archive(worker))
    zip_path = build_package(worker, arch=arch, runtime=runtime, runner=runner)
    content = zip_path.read_bytes()
    return WorkerPackage(
        worker=worker,
        archive=pulumi.FileArchive(str(zip_path)),
        path=zip_path,
        zipped_bytes=len(content),
        unzipped_bytes=unzipped_size(zip_path),
        sha256_b64=base64.b64encode(hashlib.sha256(content).digest()).decode(),
    )


def package_size_mb(worker: str, *, arch: str = "x86_64", runtime: str = "python3.12") -> tuple[float, float]:
    """(zipped MB, unzipped MB) of a worker's package, building it if not cached."""
    zip_path = build_package(worker, arch=arch, runtime=runtime)
    return zip_path.stat().st_size / 2**20, unzipped_size(zip_path) / 2**20


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.packaging", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the workers' packages and print their sizes")
    build.add_argument("--arch", choices=["x86_64", "arm64"], default="x86_64")
    build.add_argument("--runtime", default="python3.12")
    build.add_argument("--worker", choices=(*STAGES, *EDGE_WORKERS), action="append")
    args = parser.parse_args(argv)

    print(f"{'worker':<12} {'zipped MB':>10} {'unzipped MB':>12}  package")
    for worker in args.worker or (*STAGES, *EDGE_WORKERS):
        zipped, unzipped = package_size_mb(worker, arch=args.arch, runtime=args.runtime)
        path = package_path(worker, arch=args.arch, runtime=args.runtime)
        via = "  (via S3: over 50 MB)" if zipped * 2**20 > DIRECT_UPLOAD_LIMIT else ""
        print(f"{worker:<12} {zipped:>10.1f} {unzipped:>12.1f}  {path.relative_to(REPO_ROOT)}{via}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
