"""CPU per mail.parse.parse_email call (time.process_time, medians), per corpus:
data/emails.json (agent.dataset.record_to_message), tests/fixtures/hostile, tests/fixtures/replies.
    .venv/bin/python benchmarks/bench_parse.py [--rounds 7] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailorder.agent.evaluation.dataset import load_emails, record_to_message  # noqa: E402
from mailorder.mail.html import html_to_text  # noqa: E402
from mailorder.mail.parse import parse_email  # noqa: E402


def corpora() -> dict[str, list[bytes]]:
    fixtures = ROOT / "tests" / "fixtures"
    return {
        "data/emails": [record_to_message(r).as_bytes() for r in load_emails(ROOT / "data")],
        "hostile": [p.read_bytes() for p in sorted((fixtures / "hostile").glob("*.eml"))],
        "replies": [p.read_bytes() for p in sorted((fixtures / "replies").glob("*.eml"))],
    }


def cpu_us(raw: bytes) -> float:
    start = time.process_time()
    email = parse_email(raw)
    dict(email.headers.items())  # callers read every header (agent.triage)
    return (time.process_time() - start) * 1e6


def html_us(html: str) -> float:
    start = time.process_time()
    html_to_text(html)
    return (time.process_time() - start) * 1e6


def measure(raws: list[bytes], rounds: int) -> tuple[float, float, float]:
    """Per-email medians over the rounds: their median and mean, and the median of the
    html_to_text part (BeautifulSoup; 0 for mail without HTML)."""
    htmls = [parse_email(raw).html for raw in raws]  # also the warm-up
    per_email = [[] for _ in raws]
    per_html = [[] for _ in raws]
    for _ in range(rounds):
        for i, raw in enumerate(raws):
            per_email[i].append(cpu_us(raw))
            per_html[i].append(html_us(htmls[i]) if htmls[i] else 0.0)
    medians = [statistics.median(s) for s in per_email]
    return (
        statistics.median(medians),
        statistics.fmean(medians),
        statistics.median(statistics.median(s) for s in per_html),
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--profile", action="store_true", help="cProfile the data/emails corpus once")
    args = ap.parse_args()
    sets = corpora()
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.rounds):
            for raw in sets["data/emails"]:
                parse_email(raw)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        return
    print(f"{'corpus':<12} {'emails':>6} {'median µs':>10} {'mean µs':>10} {'of which html_to_text':>22}")
    for name, raws in sets.items():
        median, mean, html = measure(raws, args.rounds)
        print(f"{name:<12} {len(raws):>6} {median:>10.0f} {mean:>10.0f} {html:>22.0f}")


if __name__ == "__main__":
    main()
