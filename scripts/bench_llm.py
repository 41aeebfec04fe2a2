#!/usr/bin/env python3
"""Time to first token and generation speed of a GGUF model through PostFinder's backend.

Usage: python scripts/bench_llm.py MODEL.gguf [--gpu-layers N] [--runs R] [--threads T]
Prints one JSON object: load time, prompt tokens, and p50 time to first token and
tokens/s over R answers to the same answering-style prompt.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from postfinder.answering.prompt import SYSTEM_PROMPT
from postfinder.generation.base import ChatMessage
from postfinder.generation.llama_backend import LlamaCppGenerator

POST = (
    "Большую кольцевую линию метро откроют полностью 1 марта. На ней 31 станция, а пересадки "
    "будут на 21 линию метро и 4 линии МЦД. Первые поезда пойдут в 5:30 утра, интервал в час "
    "пик составит 3 минуты. "
) * 6


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser()
    parser.add_argument("model", type=Path)
    parser.add_argument("--gpu-layers", type=int, default=0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()
    started = time.perf_counter()
    gen = LlamaCppGenerator(
        args.model, n_ctx=2048, n_gpu_layers=args.gpu_layers, n_threads=args.threads, temperature=0
    )
    load_s = time.perf_counter() - started

    def messages(run: int) -> list[ChatMessage]:
        # A different post each run, so llama.cpp cannot reuse the previous prompt's cache
        # beyond the fixed system prompt (as in production).
        return [
            ChatMessage("system", SYSTEM_PROMPT),
            ChatMessage(
                "user",
                f'Posts:\n<post n="1">\n{run}. {POST}\n</post>\n\n<question>\n'
                "Когда откроют кольцевую линию и сколько на ней станций?\n</question>",
            ),
        ]

    prompt_tokens = sum(gen.count_tokens(m.content) for m in messages(0))
    ttft, speed, produced = [], [], []
    for run in range(args.runs):
        begin = time.perf_counter()
        first = None
        pieces = []
        for piece in gen.stream(messages(run), args.max_tokens):
            if first is None:
                first = time.perf_counter()
            pieces.append(piece.text)
        end = time.perf_counter()
        tokens = gen.count_tokens("".join(pieces))
        assert first is not None
        ttft.append(first - begin)
        produced.append(tokens)
        if tokens > 1 and end > first:
            speed.append((tokens - 1) / (end - first))
    print(
        json.dumps(
            {
                "model": args.model.name,
                "gpu_layers": args.gpu_layers,
                "load_s": round(load_s, 3),
                "prompt_tokens": prompt_tokens,
                "completion_tokens_p50": statistics.median(produced),
                "ttft_s_p50": round(statistics.median(ttft), 4),
                "tokens_per_s_p50": round(statistics.median(speed), 1) if speed else None,
            }
        )
    )


if __name__ == "__main__":
    main()
