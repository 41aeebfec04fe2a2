"""How the command line shows results: reports, search hits and evaluation metrics."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from postfinder.channels import ChannelInfo
from postfinder.indexer import IndexReport
from postfinder.retrieval import SearchResult


def index_report(report: IndexReport) -> str:
    """One indexing run in words."""
    text = (
        f"Channel {report.channel_id} ({report.channel_name}): {report.posts_in_export} posts "
        f"with text in the export; {report.added} added, {report.updated} updated, "
        f"{report.unchanged} unchanged; {report.chunks} chunks embedded in "
        f"{report.seconds:.1f} s."
    )
    if report.removed:
        text += (
            f"\n{report.removed} indexed posts are missing from the export (deleted in the "
            "channel) and were removed; --keep-missing keeps them."
        )
    return text


def channel_line(info: ChannelInfo) -> str:
    """One indexed channel in `postfinder channels`."""
    handle = f"@{info.username}" if info.username else "-"
    return (
        f"{info.id}  {info.name}  {handle}  {info.posts} posts  "
        f"{info.embedder} (dim {info.dim})  languages: {info.language}  "
        f"updated {info.updated}\n    refusal calibration: {info.calibration}"
    )


def hits(result: SearchResult) -> str:
    """Ranked posts with their link, date, ranks and snippet."""
    lines = []
    for rank, hit in enumerate(result.hits, start=1):
        date = datetime.fromtimestamp(hit.date, tz=timezone.utc).strftime("%Y-%m-%d")
        parts = []
        if hit.dense_rank is not None:
            parts.append(f"dense #{hit.dense_rank} {hit.dense_similarity:.3f}")
        if hit.bm25_rank is not None:
            parts.append(f"bm25 #{hit.bm25_rank} {hit.bm25_score:.2f}")
        lines.append(f"{rank}. {hit.link}  {date}  [{', '.join(parts)}]")
        lines.append(f"   {hit.snippet}")
    return "\n".join(lines) if lines else "No matching posts."


def retrieval_report(report: dict[str, Any]) -> str:
    """`postfinder eval` metrics in two lines."""
    return (
        f"mode {report['mode']}, {report['n']} answerable questions: "
        f"hit@1 {report['hit@1']:.3f}  hit@5 {report['hit@5']:.3f}  "
        f"hit@10 {report['hit@10']:.3f}  MRR@10 {report['mrr@10']:.3f}  "
        f"nDCG@10 {report['ndcg@10']:.3f}  latency p50 {report['latency_ms_p50']:.1f} ms, "
        f"p95 {report['latency_ms_p95']:.1f} ms\n"
        f"refusal: {report['refusal_rate']:.3f} of {report['n_refuse']} unanswerable questions "
        f"refused, {report['false_refusal_rate']:.3f} of answerable ones refused"
    )


def answer_report(report: dict[str, Any]) -> str:
    """`postfinder eval --answers` metrics in four lines."""
    by_kind = "".join(
        f", {key.removeprefix('refusal_').replace('_', '-')} {value:.3f}"
        for key, value in report.items()
        if key.startswith("refusal_") and key != "refusal_rate"
    )
    return (
        f"model {report['model']}: {report['n_answerable']} answerable, "
        f"{report['n_unanswerable']} unanswerable questions\n"
        f"accuracy {report['accuracy']:.3f}, lead {report['lead_accuracy']:.3f} (generated "
        f"leads without the gold {report['generated_lead_wrong']:.3f}); "
        f"generated {report['generated_share']:.3f}, "
        f"extractive {report['extractive_share']:.3f}, refused {report['refused_share']:.3f}; "
        f"generated without the gold {report['generated_wrong']:.3f} "
        f"({report['generated_wrong_count']}); drafts with the gold rejected "
        f"{report['false_rejects']} of {report['drafts_with_gold']}\n"
        f"refusal {report['refusal_rate']:.3f}, false refusal {report['false_refusal_rate']:.3f}"
        f"{by_kind}\n"
        f"prompt tokens p50 {report['prompt_tokens_p50']:.0f}; first token p50 "
        f"{report['first_token_ms_p50'] / 1000:.2f} s, "
        f"p95 {report['first_token_ms_p95'] / 1000:.2f} s; "
        f"total p50 {report['total_ms_p50'] / 1000:.2f} s, "
        f"p95 {report['total_ms_p95'] / 1000:.2f} s; {report['tokens_per_s']:.1f} tokens/s; "
        f"prompts read at {report['prompt_read_tokens_per_s']:.0f} tokens/s"
    )
