"""Check in a child process that llama.cpp can run on this CPU before loading it here.

A llama.cpp build compiled for instructions that the machine does not execute (AMX tiles
under some hypervisors, AVX-512 on an older CPU) kills the whole process with SIGILL at
the first decode: no exception, no message. Running one tiny generation in a subprocess
first turns that into a `ModelError` that says what to do. The verdict is cached per
build, CPU and model file, so the probe runs once per machine, not once per start.

``python -m postfinder.generation.probe --models-dir models`` runs the probe on the
smallest GGUF there (set-up calls it right after installing llama-cpp-python).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from postfinder.errors import ModelError

PROBE_TIMEOUT_S = 180.0
FIX_HINT = (
    "Reinstall llama-cpp-python as a portable build: rerun ./scripts/setup.sh (it builds "
    "without -march=native and without AMX), or by hand: CMAKE_ARGS='-DGGML_NATIVE=OFF "
    "-DGGML_AVX2=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF' pip install "
    "--no-cache-dir --force-reinstall llama-cpp-python"
)


def _library_files() -> list[Path]:
    """The native libraries of the installed llama-cpp-python (what decides the verdict)."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or spec.origin is None:
        return []
    package = Path(spec.origin).parent
    return sorted(p for p in package.rglob("*") if p.suffix in {".so", ".dylib", ".dll"})


def _cpu_flags() -> str:
    """The CPU's feature line, or the machine name where /proc/cpuinfo does not exist."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith(("flags", "Features")):
                    return line.strip()
    except OSError:
        pass
    return sys.platform


def probe_key(model_path: Path) -> str:
    """Identify (build, CPU, model file): a new build or another CPU is probed again."""
    digest = hashlib.sha256(_cpu_flags().encode())
    for path in [*_library_files(), model_path]:
        try:
            stat = path.stat()
        except OSError:
            continue
        digest.update(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:24]


def describe_exit(returncode: int) -> str:
    """Explain a child's exit status in words (a negative code is a signal)."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        if name == "SIGILL":
            return (
                "it died with SIGILL (illegal instruction): this llama-cpp-python build uses "
                "CPU instructions that this machine does not execute (often AMX or "
                "-march=native builds under a hypervisor)"
            )
        return f"it was killed by {name}"
    return f"it exited with status {returncode}"


@dataclass(frozen=True)
class ProbeOutcome:
    """What the child process did: ran, crashed (the build), or failed to load (the file)."""

    ok: bool
    crashed: bool
    detail: str = ""
    returncode: int | None = None  # None: the child did not finish

    @property
    def definite(self) -> bool:
        """A verdict worth keeping: it ran, or it died of an illegal instruction."""
        return self.ok or self.returncode == -signal.SIGILL


LOAD_FAILED = 3  # the child's exit status when llama.cpp refuses the file itself


def run_probe(model_path: Path, timeout_s: float = PROBE_TIMEOUT_S) -> ProbeOutcome:
    """Load ``model_path`` and decode a few tokens in a child process.

    Returns
    -------
    ProbeOutcome
        ``crashed`` when the child died (a signal such as SIGILL) or hung: the build
        cannot run here. A file llama.cpp cannot load is not the build's fault: then
        ``ok`` and ``crashed`` are both false.
    """
    command = [sys.executable, "-m", "postfinder.generation.probe", "--child", str(model_path)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        return ProbeOutcome(
            False, True, f"a test generation did not finish within {timeout_s:.0f} s"
        )
    if done.returncode == 0:
        return ProbeOutcome(True, False, returncode=0)
    lines = done.stderr.strip().splitlines() if done.stderr else []
    tail = f" ({lines[-1][:300]})" if lines and done.returncode > 0 else ""
    detail = (
        f"a test generation with {model_path.name} failed: "
        f"{describe_exit(done.returncode)}{tail}"
    )
    return ProbeOutcome(False, done.returncode != LOAD_FAILED, detail, done.returncode)


def ensure_llama_runs(model_path: Path, cache_dir: Path | None) -> None:
    """Probe once per build, CPU and model; raise `ModelError` when llama.cpp cannot run.

    Parameters
    ----------
    model_path
        GGUF file about to be loaded.
    cache_dir
        Where verdicts are kept (``None``: probe every time).

    Raises
    ------
    ModelError
        Naming the failure and how to reinstall a portable build.
    """
    key = probe_key(model_path)
    record = cache_dir / f"llama-probe-{key}.json" if cache_dir is not None else None
    if record is not None and record.is_file():
        try:
            verdict = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            verdict = None
        if isinstance(verdict, dict) and "problem" in verdict:
            problem = verdict["problem"]
            if problem is None:
                return
            raise ModelError(f"llama.cpp cannot run here: {problem}. {FIX_HINT}")
    outcome = run_probe(model_path)
    if not outcome.ok and not outcome.crashed:
        return  # the file is at fault: loading it here raises the precise error
    if record is not None and outcome.definite:
        # Only definite verdicts are kept: a timeout on a busy machine is not one.
        record.parent.mkdir(parents=True, exist_ok=True)
        problem = None if outcome.ok else outcome.detail
        record.write_text(json.dumps({"problem": problem}), encoding="utf-8")
    if not outcome.ok:
        raise ModelError(f"llama.cpp cannot run here: {outcome.detail}. {FIX_HINT}")


def _child(model_path: Path) -> None:
    """The probe itself: load with a small context and decode a few tokens."""
    # pylint: disable=import-outside-toplevel
    from llama_cpp import Llama

    try:
        llm = Llama(model_path=str(model_path), n_ctx=256, n_threads=1, n_batch=64, verbose=False)
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(LOAD_FAILED)
    llm.create_completion("Hello", max_tokens=4, temperature=0.0)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--child MODEL`` (internal) or ``--models-dir DIR`` (set-up check)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--models-dir", type=Path, default=Path("models"))
    args = parser.parse_args(argv)
    if args.child is not None:
        _child(args.child)
        return 0
    models = sorted(args.models_dir.glob("*.gguf"), key=lambda p: p.stat().st_size)
    if not models:
        print(f"probe: no GGUF model in {args.models_dir}; nothing to test", file=sys.stderr)
        return 0
    outcome = run_probe(models[0])
    if not outcome.ok:
        print(f"probe: llama.cpp cannot run on this machine: {outcome.detail}.", file=sys.stderr)
        print(f"probe: {FIX_HINT}", file=sys.stderr)
        return 1
    print(f"probe: llama.cpp runs on this CPU ({models[0].name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
