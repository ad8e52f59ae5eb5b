"""Catalog index at scale: build time, lookup latency (p50/p95/p99) and RSS on 50,000 products.

Synthetic variants are generated from the families of the catalog at hand
(data/products.json, else ../shared/eval/dev/products.json):
    .venv/bin/python benchmarks/bench_catalog.py [--size 50000]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import statistics
import time
from pathlib import Path

from mailorder.domain import Product
from mailorder.tools.catalog import CatalogIndex

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "data" / "products.json", ROOT.parent / "shared" / "eval" / "dev" / "products.json"]
WIDTHS = [500, 610, 760, 1000, 1050, 1220, 1260, 1370, 1520, 1600]


def load_seed() -> list[Product]:
    for path in SOURCES:
        if path.exists():
            return [Product.model_validate(p) for p in json.loads(path.read_text(encoding="utf-8"))]
    raise SystemExit("no products.json found")


def scale(seed: list[Product], size: int, rng: random.Random) -> list[Product]:
    """Variants of seed products: other series/colour codes, widths and thicknesses."""
    out = list(seed)
    n = 0
    while len(out) < size:
        base = seed[n % len(seed)]
        n += 1
        name = re.sub(r"\b(\d{3})(?=[MG]?\s)", lambda m: f"{rng.randint(0, 999):03d}", base.name, count=1)
        name = re.sub(r"\b(\d{3,4}) mm x", lambda m: f"{rng.choice(WIDTHS)} mm x", name, count=1)
        name = re.sub(r"(?<=[A-Za-z®] )(\d{2,4})\b", lambda m: str(rng.randint(10, 9999)), name, count=1)
        sku = f"{90 + n // 1_000_000:02d}-{(n // 10000) % 10000:04d}-{n % 10000:04d}"
        out.append(base.model_copy(update={"sku": sku, "name": name}))
    return out


def queries(products: list[Product], rng: random.Random, count: int) -> list[str]:
    """Customer-style text: SKUs, shorthand codes with widths, names with attributes, fragments."""
    result = []
    for p in rng.sample(products, count):
        words = p.name.replace("®", "").split()
        kind = rng.randrange(4)
        if kind == 0:
            result.append(f"2x {p.sku}")
        elif kind == 1:
            nums = re.findall(r"\b\d{3,4}\b", p.name)
            result.append(
                f"{'-'.join(nums[:2])} {rng.choice(['wit', 'black', 'geel'])} 126"
                if nums
                else " ".join(words[:3])
            )
        elif kind == 2:
            result.append(" ".join(rng.sample(words, min(len(words), 5))))
        else:
            result.append(" ".join(words[: max(2, len(words) // 2)]) + " op 1370 mm. breed")
    return result


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(7)
    products = scale(load_seed(), args.size, rng)
    builds = []
    for _ in range(3):
        started = time.perf_counter()
        index = CatalogIndex.build(products)
        builds.append(time.perf_counter() - started)
    texts = queries(products, rng, args.queries)
    for text in texts[:200]:
        index.lookup(text)  # warm caches
    times = []
    for text in texts:
        started = time.perf_counter()
        index.lookup(text)
        times.append((time.perf_counter() - started) * 1000)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"products            {len(products)}")
    print(f"index build         median {statistics.median(builds):.2f} s  (max {max(builds):.2f} s)")
    print(
        f"catalog_lookup ms   p50 {pct(times, 0.5):.2f}  p95 {pct(times, 0.95):.2f}  "
        f"p99 {pct(times, 0.99):.2f}  max {max(times):.2f}  over {len(times)} queries"
    )
    print(f"max RSS             {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
