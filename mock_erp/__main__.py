"""`python -m mailorder.mock_erp --port 8001 --dataset DIR --db PATH
[--latency-ms N --error-rate R --force-status S]`."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from mailorder.mock_erp.faults import Faults
from mailorder.mock_erp.server import DEFAULT_DB_PATH, run_erp


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mock_erp", description="Run the mock ERP.")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--dataset", type=Path, default=None, help="dataset folder (default: the project's data/)"
    )
    parser.add_argument("--db", default=str(DEFAULT_DB_PATH), help="SQLite file, or :memory:")
    parser.add_argument("--latency-ms", type=float, default=None)
    parser.add_argument("--error-rate", type=float, default=None)
    parser.add_argument("--force-status", type=int, default=None)
    args = parser.parse_args(argv)
    overrides = {
        "latency_ms": args.latency_ms,
        "error_rate": args.error_rate,
        "force_status": args.force_status,
    }
    faults = Faults.model_validate(
        {**Faults.from_env().model_dump(), **{k: v for k, v in overrides.items() if v is not None}}
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_erp(args.port, args.dataset, args.db, faults, host=args.host)


if __name__ == "__main__":
    main()
