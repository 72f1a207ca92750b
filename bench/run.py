"""``python -m bench.run [--quick] [--latency-ms 50] [--out bench/results.json]``: the benchmark harness.

Runs the five measurements of docs/benchmarks.md on the one-machine stack (moto + the AEP simulator; full runs
give the provisioning figures at ``--latency-ms`` and again at ``--slow-latency-ms``, Adobe's own), prints them
as it goes, and writes ``--out`` (JSON, every figure) and the same name with ``.md`` (a Markdown table).
Exit status 0 when every measurement ran; 1 when the harness broke (an execution failed, a tenant did not end
ACTIVE, objects were duplicated). Speed is reported, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any, TextIO

from bench.report import markdown

SIZES = {
    "quick": {"tenants": 5, "flows": 300, "import_repeats": 2},
    "full": {"tenants": 50, "flows": 10_000, "import_repeats": 5},
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="small sizes (CI): 5 tenants, 300 flows")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="latency the simulator adds to every call")
    parser.add_argument(
        "--slow-latency-ms",
        type=float,
        default=400.0,
        help="second latency of the provisioning figures (full runs: measurement provisioning_slow)",
    )
    parser.add_argument("--rate-limit-rps", type=float, default=20.0, help="simulator's throughput cap (req/s)")
    parser.add_argument("--max-concurrency", type=int, default=6, help="the provision Map's MaxConcurrency")
    parser.add_argument("--tenants", type=int, default=None, help="override the many-tenants size")
    parser.add_argument("--flows", type=int, default=None, help="override the health-sweep size")
    parser.add_argument(
        "--only",
        choices=("provisioning", "provisioning_slow", "many_tenants", "health", "cold_start", "upgrade_all"),
        action="append",
        help="run only these measurements (repeatable)",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results.json"), help="JSON results path")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from bench import scenarios

    sizes = dict(SIZES["quick" if args.quick else "full"])
    sizes["tenants"] = args.tenants or sizes["tenants"]
    sizes["flows"] = args.flows or sizes["flows"]
    latency_s = args.latency_ms / 1000
    console: TextIO = sys.stdout

    def say(line: str) -> None:
        print(line, file=console, flush=True)

    # Handlers print EMF metric lines (Powertools' single_metric prints even with POWERTOOLS_METRICS_DISABLED)
    # and log INFO/WARNING lines: keep them out of the report.
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    logging.disable(logging.WARNING)

    results: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "sizes": sizes,
        "latency_ms": args.latency_ms,
        "slow_latency_ms": args.slow_latency_ms,
        "rate_limit_rps": args.rate_limit_rps,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "started_at": int(time.time()),
    }
    wanted = args.only or [
        "provisioning",
        *([] if args.quick else ["provisioning_slow"]),  # Adobe's own latency: full runs only (CI stays fast)
        "many_tenants",
        "health",
        "cold_start",
    ]
    steps: dict[str, Any] = {
        "provisioning": lambda: scenarios.measure_provisioning(latency_s, args.max_concurrency, say),
        "provisioning_slow": lambda: scenarios.measure_provisioning(
            args.slow_latency_ms / 1000, args.max_concurrency, say
        ),
        "many_tenants": lambda: scenarios.measure_many_tenants(
            sizes["tenants"], latency_s, args.rate_limit_rps, args.max_concurrency, say
        ),
        "health": lambda: scenarios.measure_health(
            sizes["flows"], latency_s, args.rate_limit_rps, args.max_concurrency, say
        ),
        "cold_start": lambda: scenarios.measure_cold_start(sizes["import_repeats"], say),
        "upgrade_all": lambda: scenarios.measure_upgrade_all(
            sizes["tenants"], latency_s, args.rate_limit_rps, args.max_concurrency, 10, say
        ),
    }
    failed: list[str] = []
    with open(os.devnull, "w") as sink:
        for name in wanted:
            say(f"== {name}")
            began = time.perf_counter()
            try:
                with contextlib.redirect_stdout(sink):
                    results[name] = steps[name]()
            except Exception as exc:
                failed.append(name)
                results[name] = {"error": f"{type(exc).__name__}: {exc}"}
                say(f"  FAILED: {type(exc).__name__}: {exc}")
                say(traceback.format_exc())
            results.setdefault(name, {})["harness_s"] = time.perf_counter() - began
    results["failed"] = failed
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True, default=str) + "\n")
    table = markdown(results)
    args.out.with_suffix(".md").write_text(table)
    say("")
    say(table)
    say(f"wrote {args.out} and {args.out.with_suffix('.md')}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
