"""llama.cpp in-process through llama-cpp-python: a GGUF model on CPU or GPU."""

from __future__ import annotations

import codecs
import os
import struct
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from postfinder.errors import ModelError
from postfinder.generation.base import ChatMessage, Choice, Constraint, Token
from postfinder.generation.probe import ensure_llama_runs

GGUF_MAGIC = b"GGUF"
# Fewer new tokens than this say more about the call's overhead than the machine's speed.
RATE_MIN_TOKENS = 48


def available_memory_bytes() -> int | None:
    """Return MemAvailable from /proc/meminfo, or ``None`` where it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def physical_cores() -> int:
    """Return the physical cores this process may use (hyper-threads only slow llama.cpp)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    usable = usable or os.cpu_count() or 1
    cores: set[tuple[str, str]] = set()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            physical = core = ""
            for line in handle:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "physical id":
                    physical = value.strip()
                elif key == "core id":
                    core = value.strip()
                    cores.add((physical, core))
    except OSError:
        pass
    return max(1, min(usable, len(cores))) if cores else usable


def check_gguf(path: Path, gpu_layers: int = 0) -> None:
    """Check that ``path`` is a readable GGUF file that fits in memory.

    Raises
    ------
    ModelError
        If the file is missing, is not GGUF, is truncated, or is larger than the free memory.
    """
    if not path.is_file():
        raise ModelError(
            f"GGUF model {path} does not exist. List models with 'postfinder models list', "
            "download one with 'postfinder models pull NAME', or run "
            "'python scripts/fetch_models.py' for the small offline model."
        )
    with path.open("rb") as handle:
        header = handle.read(24)
    if len(header) < 24 or header[:4] != GGUF_MAGIC:
        raise ModelError(
            f"{path} is not a GGUF model file (bad header); it may be corrupt or an "
            "unfinished download. Delete it and download it again."
        )
    version = struct.unpack("<I", header[4:8])[0]
    if version not in (1, 2, 3):
        raise ModelError(f"{path} has unsupported GGUF version {version}.")
    size = path.stat().st_size
    free = available_memory_bytes()
    if gpu_layers == 0 and free is not None and size > free * 0.9:
        raise ModelError(
            f"{path.name} needs about {size / 2**30:.1f} GiB but only {free / 2**30:.1f} GiB "
            "of memory is free. Choose a smaller quantisation (e.g. Q4_K_M of a smaller model) "
            "or offload layers to a GPU with llm.n_gpu_layers."
        )


class LlamaCppGenerator:
    """A GGUF chat model loaded once per process.

    Parameters
    ----------
    model_path
        GGUF file.
    n_ctx, n_threads, n_batch, n_gpu_layers
        llama.cpp options; ``n_gpu_layers=-1`` offloads every layer to CUDA; threads
        default to the physical cores.
    temperature, stop
        Sampling options.
    probe_cache
        Folder for the verdict of the subprocess probe that runs before the first load
        on a machine (see `postfinder.generation.probe`); ``None`` skips the probe.
    """

    def __init__(  # pylint: disable=too-many-arguments
        self,
        model_path: Path,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_batch: int = 256,
        n_gpu_layers: int = 0,
        temperature: float = 0.2,
        stop: Sequence[str] = (),
        seed: int = 0,
        probe_cache: Path | None = None,
    ) -> None:
        check_gguf(model_path, n_gpu_layers)
        if probe_cache is not None:
            ensure_llama_runs(model_path, probe_cache)
        try:
            # Heavy import (native library), done only when this backend is chosen.
            from llama_cpp import Llama  # pylint: disable=import-outside-toplevel
        except ImportError as exc:
            raise ModelError(
                "The llama-cpp backend needs llama-cpp-python: pip install 'postfinder[llm]'"
            ) from exc
        try:
            self._llm: Any = Llama(
                model_path=str(model_path),
                n_ctx=n_ctx,
                n_threads=n_threads or physical_cores(),
                n_batch=n_batch,
                n_gpu_layers=n_gpu_layers,
                seed=seed,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(
                f"llama.cpp could not load {model_path.name}: {exc}. The file may be corrupt "
                "or need a newer llama-cpp-python."
            ) from exc
        self.name = f"llama-cpp/{model_path.name}"
        self.context_size = int(self._llm.n_ctx())
        self.temperature = temperature
        self.stop = list(stop)
        self._prefilled: tuple[tuple[str, str], ...] = ()
        self._formatter: Any = None
        self._rng = np.random.default_rng(seed)
        self._rate: float | None = None

    def count_tokens(self, text: str) -> int:
        """Count model tokens."""
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def prompt_rate(self) -> float | None:
        """Prompt tokens per second of the last evaluation long enough to tell (at least
        `RATE_MIN_TOKENS` new tokens; the system prompt's is the first), else ``None``."""
        return self._rate

    def prefill(self, messages: Sequence[ChatMessage]) -> None:
        """Evaluate a fixed prompt prefix (the system prompt) once.

        llama.cpp keeps the state of the last prompt and evaluates only what differs, so
        every later prompt that starts with these messages skips them.
        """
        key = tuple((m.role, m.content) for m in messages)
        if key == self._prefilled:
            return  # already in the cache (one model serves every answerer of a process)
        self._prefilled = key
        # The same template and tokenizer path as `choose`, so its prompts reuse this state.
        self._evaluate(self._chat_tokens([*messages, ChatMessage("user", "")]))

    def stream(
        self, messages: Sequence[ChatMessage], max_tokens: int, avoid: str = ""
    ) -> Iterator[Token]:
        """Stream the reply using the chat template stored in the GGUF.

        Decoded here token by token from the model's logits (top-k 40, min-p 0.05 at
        ``temperature``; greedy at 0), so that each piece carries the model's own log
        probability, which llama-cpp-python gives only with every position's logits kept
        (``logits_all``: gigabytes for a 151k vocabulary). ``avoid``: the first tokens
        that would start it are banned, so that a decision taken before (answer, not
        refuse) is not overruled by the greedy first token.
        """
        # pylint: disable-next=import-outside-toplevel
        from llama_cpp import llama_get_logits_ith, llama_vocab_is_eog

        vocab = self._llm._model.vocab  # pylint: disable=protected-access
        banned = sorted(self._starting_tokens(avoid)) if avoid else []
        logits = self._evaluate(self._chat_tokens(messages))
        decoder = codecs.getincrementaldecoder("utf-8")(errors="ignore")
        stops = _StopFilter(self.stop)
        for step in range(max_tokens):
            log_total = _log_total(logits)
            if step == 0 and banned:
                logits[banned] = -np.inf
            token = self._sample(logits)
            if llama_vocab_is_eog(vocab, token):
                break
            piece = decoder.decode(self._llm.detokenize([token], prev_tokens=None))
            shown, stopped = stops.feed(piece, float(logits[token]) - log_total)
            if shown is not None:
                yield shown
            if stopped:
                return
            self._llm.eval([token])
            logits = self._logits(llama_get_logits_ith)
        rest = stops.flush(decoder.decode(b"", final=True))
        if rest is not None:
            yield rest

    def _sample(self, logits: Any) -> int:
        """The next token: the likeliest at temperature 0, else drawn among the top 40
        that are at least 5% as likely as the best (llama.cpp's own default chain)."""
        if self.temperature <= 0:
            return int(np.argmax(logits))
        top = np.argpartition(logits, -_TOP_K_SAMPLE)[-_TOP_K_SAMPLE:]
        scaled = (logits[top] - float(logits[top].max())) / self.temperature
        weights = np.exp(scaled)
        keep = weights >= _MIN_P * weights.max()
        chosen = top[keep]
        return int(self._rng.choice(chosen, p=weights[keep] / weights[keep].sum()))

    def first_token_probability(self, messages: Sequence[ChatMessage], text: str) -> float:
        """The model's probability that its reply to ``messages`` begins with ``text``.

        The sum, over the likeliest first tokens, of the probabilities of those that start
        ``text`` ("NO", "NO_" for "NO_ANSWER"). The prompt is evaluated here and stays in
        llama.cpp's cache, so the reply streamed next does not evaluate it again
        (measured: 0.2-0.3 s more to the first token, scripts/bench_probe.py).
        """
        logits = self._evaluate(self._chat_tokens(messages))
        weights = np.exp(logits - float(logits.max()))
        likely = np.argpartition(logits, -_TOP_K)[-_TOP_K:].tolist()
        starting = self._starting_tokens(text, likely)
        return float(sum(weights[t] for t in starting) / weights.sum())

    def _starting_tokens(self, text: str, likely: Sequence[int] = ()) -> set[int]:
        """Tokens whose text starts ``text``: the tokenizer's own first tokens of it (with
        and without a leading space) and any of ``likely`` that is a prefix of it."""
        target = text.encode("utf-8")
        candidates = {
            ids[0]
            for variant in (target, b" " + target)
            if (ids := self._llm.tokenize(variant, add_bos=False, special=False))
        }
        candidates.update(likely)
        return {
            token
            for token in candidates
            if (piece := self._llm.detokenize([token], prev_tokens=None).strip())
            and target.startswith(piece)
        }

    def _chat_tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The prompt tokens of ``messages`` under the GGUF's chat template (ChatML if none)."""
        if self._formatter is None:
            # pylint: disable-next=import-outside-toplevel
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            template = self._llm.metadata.get("tokenizer.chat_template") or _CHATML
            model = self._llm._model  # pylint: disable=protected-access
            eos, bos = self._llm.token_eos(), self._llm.token_bos()
            self._formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=model.token_get_text(eos) if eos != -1 else "",
                bos_token=model.token_get_text(bos) if bos != -1 else "",
                stop_token_ids=[eos],
            )
        result = self._formatter(
            messages=[{"role": m.role, "content": m.content} for m in messages]
        )
        return list(
            self._llm.tokenize(
                result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True
            )
        )

    def _evaluate(self, tokens: list[int]) -> Any:
        """Evaluate ``tokens`` after the longest prefix already in the cache; return logits."""
        # pylint: disable-next=import-outside-toplevel
        from llama_cpp import llama_get_logits_ith

        llm = self._llm
        cached = 0
        for a, b in zip(llm.input_ids[: llm.n_tokens].tolist(), tokens):
            if a != b:
                break
            cached += 1
        cached = min(cached, len(tokens) - 1)  # at least one token, for fresh logits
        llm.n_tokens = cached  # eval() drops the cache beyond this point
        started = time.perf_counter()
        llm.eval(tokens[cached:])
        if len(tokens) - cached >= RATE_MIN_TOKENS:
            self._rate = (len(tokens) - cached) / max(time.perf_counter() - started, 1e-6)
        return self._logits(llama_get_logits_ith)

    def _logits(self, getter: Any) -> Any:
        pointer = getter(self._llm.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(self._llm.n_vocab(),)).astype(np.float64)

    def choose(
        self,
        messages: Sequence[ChatMessage],
        constraint: Constraint,
        refusal: str,
        max_tokens: int,
        cancel: threading.Event | None = None,
    ) -> Choice:
        """Decode greedily, keeping only tokens that ``constraint`` allows.

        Each step looks at the model's most likely tokens and takes the best one the
        constraint allows; when none is, the best of the allowed next pieces is forced.
        The logits are the model's own, so ``refused`` and ``logprobs`` say what it
        preferred, not what it was allowed.
        """
        # pylint: disable-next=import-outside-toplevel
        from llama_cpp import llama_get_logits_ith

        vocab = self._llm._model.vocab  # pylint: disable=protected-access
        logits = self._evaluate(self._chat_tokens(messages))
        reply = b""
        logprobs: list[float] = []
        refused = 0.0
        for step in range(max_tokens):
            if cancel is not None and cancel.is_set():
                break
            log_total = _log_total(logits)
            token, piece, allowed = self._best_allowed(logits, reply, constraint, vocab)
            if step == 0:
                refused = _refusal_share(allowed, logits, refusal.encode())
                if piece.strip() and refusal.encode().startswith(piece.strip()):
                    return Choice(refusal, refused, (float(logits[token]) - log_total,))
            if token is None:  # the reply is complete and the model would stop
                break
            logprobs.append(float(logits[token]) - log_total)
            reply += piece
            if constraint.complete(reply) and not any(
                constraint.accepts(reply + extra) for extra in (b" ", b",", b"-", b".")
            ):
                break  # nothing can follow (end of a sentence, or the refusal)
            self._llm.eval([token])
            logits = self._logits(llama_get_logits_ith)
        return Choice(reply.decode("utf-8", errors="ignore"), refused, tuple(logprobs))

    def _best_allowed(
        self, logits: Any, reply: bytes, constraint: Constraint, vocab: Any
    ) -> tuple[int | None, bytes, list[tuple[int, bytes]]]:
        """The likeliest allowed token (``None``: stop) and all allowed ones among the top."""
        # pylint: disable-next=import-outside-toplevel
        from llama_cpp import llama_vocab_is_eog

        order = np.argpartition(logits, -_TOP_K)[-_TOP_K:]
        order = order[np.argsort(-logits[order])]
        allowed: list[tuple[int, bytes]] = []
        for token in order.tolist():
            if llama_vocab_is_eog(vocab, token):
                if reply and constraint.complete(reply):
                    allowed.append((token, b""))
                continue
            piece = self._llm.detokenize([token], prev_tokens=None)
            if piece and constraint.accepts(reply + piece):
                allowed.append((token, piece))
        if allowed:
            token, piece = allowed[0]
            return (None if not piece else token), piece, allowed
        if reply and constraint.complete(reply):
            return None, b"", allowed
        forced = [
            ids[0]
            for extra in constraint.continuations(reply)
            if (ids := self._llm.tokenize(extra, add_bos=False, special=False))
        ]
        forced = [t for t in forced if constraint.accepts(reply + self._llm.detokenize([t]))]
        if not forced:
            return None, b"", allowed
        token = max(forced, key=lambda t: logits[t])
        return token, self._llm.detokenize([token]), allowed


_TOP_K = 48
_TOP_K_SAMPLE, _MIN_P = 40, 0.05


def _log_total(logits: Any) -> float:
    """log(sum(exp(logits))): a token's log probability is its logit minus this."""
    top = float(logits.max())
    return top + float(np.log(np.exp(logits - top).sum()))


class _StopFilter:
    """Holds back text that may begin a stop string, and cuts the reply at one.

    Each piece let through carries the summed log probability of the tokens it holds.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in stops if s]
        self.held = ""
        self.logprob = 0.0

    def feed(self, piece: str, logprob: float) -> tuple[Token | None, bool]:
        """Add a token's text; return what may be shown now and whether a stop was met."""
        self.held += piece
        self.logprob += logprob
        cut = min((i for s in self.stops if (i := self.held.find(s)) >= 0), default=-1)
        if cut >= 0:
            self.held = self.held[:cut]
            return self.flush(""), True
        keep = max(
            (n for s in self.stops for n in range(1, len(s)) if self.held.endswith(s[:n])),
            default=0,
        )
        if keep >= len(self.held) or not self.held:
            return None, False
        shown = Token(self.held[: len(self.held) - keep], self.logprob)
        self.held, self.logprob = self.held[len(self.held) - keep :], 0.0
        return shown, False

    def flush(self, tail: str) -> Token | None:
        """What is left once the reply ends."""
        text, self.held = self.held + tail, ""
        logprob, self.logprob = self.logprob, 0.0
        return Token(text, logprob) if text else None


def _refusal_share(allowed: list[tuple[int, bytes]], logits: Any, refusal: bytes) -> float:
    """Probability of the refusal among the allowed first tokens (from the model's logits)."""
    if not allowed:
        return 0.0
    values = np.asarray([logits[t] for t, _ in allowed])
    weights = np.exp(values - values.max())
    says_refusal = np.asarray(
        [bool(p.strip()) and refusal.startswith(p.strip()) for _, p in allowed]
    )
    return float(weights[says_refusal].sum() / weights.sum())


# The prompt format of Qwen, SmolLM and most small instruct models, for GGUFs without a template.
_CHATML = (
    "{% for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
