"""Deterministic extraction per email (clean + triage + extract_rules) on a 50,000-product catalog.

Emails are synthetic, built from catalog products in the shapes customers use (Nx SKU,
shorthand codes with widths, 'N rollen <name> op NNNN mm. breed', HTML-style tables):
    .venv/bin/python benchmarks/bench_extract.py [--size 50000] [--emails 300]
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_catalog import load_seed, pct, scale

from mailorder.agent.extract.classify import triage
from mailorder.agent.extract.rules import extract_rules
from mailorder.domain import ParsedEmail
from mailorder.mail.clean import clean_order_body
from mailorder.tools.catalog import CatalogIndex

RECEIVED = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def line_for(product, rng: random.Random) -> str:
    qty = rng.randint(1, 9)
    nums = re.findall(r"\b\d{3,4}\b", product.name)
    shape = rng.randrange(4)
    if shape == 0:
        return f"{qty}x {product.sku}"
    if shape == 1 and len(nums) >= 2:
        return f"{qty}x {nums[0]}-{nums[1]} {rng.choice(['wit', 'black', 'yellow'])} 126"
    if shape == 2:
        words = " ".join(product.name.replace("®", "").split()[:4])
        return f"{qty} rollen {words} op 1370 mm. breed"
    return f"{product.name.split()[0]} {' '.join(nums[:2])} | {qty} | 152 cm | ref{qty}"


def email_for(products, rng: random.Random) -> ParsedEmail:
    lines = [line_for(p, rng) for p in rng.sample(products, rng.randint(1, 6))]
    table = any(" | " in ln for ln in lines)
    body = "\n".join((["Product | Aantal | Breedte | Referentie"] if table else []) + lines)
    text = f"Goedemorgen,\n\nGraag bestellen:\n\n{body}\n\nMet vriendelijke groet,\nJan\nTel 0123"
    return ParsedEmail(
        message_id=f"<{rng.random()}@bench>", subject="Bestelling", text=text, sender="inkoop@klant.nl"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--emails", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(11)
    products = scale(load_seed(), args.size, rng)
    index = CatalogIndex.build(products)
    emails = [email_for(products, rng) for _ in range(args.emails)]
    for email in emails[:30]:
        extract_rules(email, clean_order_body(email), index, received=RECEIVED)
    times, line_counts = [], []
    for email in emails:
        started = time.perf_counter()
        body = clean_order_body(email)
        triage(email, body)
        extraction = extract_rules(email, body, index, received=RECEIVED)
        times.append((time.perf_counter() - started) * 1000)
        line_counts.append(len(extraction.lines))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"products           {len(products)}")
    print(f"emails             {len(emails)} (avg {statistics.mean(line_counts):.1f} lines found)")
    print(
        f"extraction ms      median {statistics.median(times):.2f}  p95 {pct(times, 0.95):.2f}  "
        f"p99 {pct(times, 0.99):.2f}  max {max(times):.2f}"
    )
    print(f"max RSS            {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
