"""The results of ``bench.run`` as a Markdown table (figure, measured, physical bound or baseline, ratio)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _f(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _calls(calls: Mapping[str, int]) -> str:
    return ", ".join(f"{op} {n}" for op, n in sorted(calls.items())) or "none"


def _provisioning_rows(
    prov: Mapping[str, Any], lat: Any, rows: list[tuple[str, str, str, str]], notes: list[str]
) -> None:
    """Rows of measurements 1-2 (one latency ``lat`` ms) appended to ``rows``, the longest chains to ``notes``."""
    if not prov:
        return
    at = f" (L = {lat:g} ms)"
    if "error" in prov:
        rows.append((f"1-2 provisioning (L = {lat:g} ms)", "FAILED", prov["error"], ""))
    elif prov:
        for label, title in (
            ("first", "first tenant (cold handlers, fresh sandbox)"),
            ("warm", "second tenant (warm)"),
        ):
            run = prov["runs"][label]
            rows.append(
                (
                    f"1 provision wall, {title}{at}",
                    f"{run['wall_s']:.2f} s",
                    f"L x chain = {lat:g} ms x {run['chain_length']} = {run['ideal_s']:.2f} s",
                    f"{_f(run['ratio_to_chain'])} x",
                )
            )
            rows.append(
                (
                    f"1 same calls sequential (PlatformClient), {label}{at}",
                    f"{run['sequential_s']:.2f} s",
                    "state machine / sequential",
                    f"{_f(run['ratio_to_sequential'])} x",
                )
            )
            notes.append(f"longest chain ({label}, L = {lat:g} ms): " + " -> ".join(run["chain"]))
        rows.append(
            (
                "1 provision wall with L = 0 (local machinery only)",
                f"{prov['runs']['zero_latency']['wall_s']:.2f} s",
                "-",
                "-",
            )
        )
        for label in ("first", "warm"):
            run = prov["runs"][label]
            made = sum(n for op, n in run["calls"].items() if op != "imsToken")
            need = sum(n for op, n in run["minimum_calls"].items() if op != "imsToken")
            rows.append(
                (
                    f"2 Adobe calls, {label} tenant{at}",
                    str(made),
                    f"graph minimum {need}",
                    f"excess: {_calls(run['excess_calls'])}",
                )
            )
        again = prov["reprovision"]
        rows.append(
            (
                f"2 second provisioning of the same tenant{at}",
                f"{again['creates']} creates",
                "target 0",
                _calls(again["calls"]),
            )
        )
        tokens = prov["ims_tokens"]
        rows.append(
            (
                f"2 IMS token requests per provisioning{at}",
                f"cold {tokens['cold_first_stack']} / {tokens['cold_fresh_stack']}, "
                f"warm {tokens['warm_second_tenant']}",
                "cold 1, warm 0",
                "-",
            )
        )


def markdown(results: Mapping[str, Any]) -> str:
    """A Markdown table of every figure, then the longest chains; a failed measurement shows its error."""
    lat = results.get("latency_ms")
    rows: list[tuple[str, str, str, str]] = []
    notes: list[str] = []
    for key, lat_ms in (("provisioning", lat), ("provisioning_slow", results.get("slow_latency_ms"))):
        _provisioning_rows(results.get(key, {}), lat_ms, rows, notes)
    many = results.get("many_tenants", {})
    if "error" in many:
        rows.append(("3 many tenants", "FAILED", many["error"], ""))
    elif many:
        rows.append(
            (
                f"3 {many['tenants']} tenants via signup queue, cap {many['cap_rps']:g} rps",
                f"{many['wall_s']:.1f} s",
                f"graph minimum {many['minimum_calls']} calls / cap = {many['graph_minimum_s']:.1f} s",
                f"{many['ratio_to_graph_minimum']:.2f} x",
            )
        )
        rows.append(
            (
                "3 Adobe calls sent / answered 429",
                f"{many['adobe_calls']} / {many['answered_429']} ({many['share_429']:.1%})",
                f"graph minimum {many['minimum_calls']}; {many['adobe_calls_accepted']} accepted",
                f"first executions SUCCEEDED {many['first_executions_succeeded']} of {many['tenants']}; "
                f"executions {many['executions']}",
            )
        )
    health = results.get("health", {})
    if "error" in health:
        rows.append(("4 health sweep", "FAILED", health["error"], ""))
    elif health:
        rows.append(
            (
                f"4 health sweep of {health['flows']} flows, cap {health['cap_rps']:g} rps",
                f"{health['flows_per_s']:.1f} flows/s ({health['wall_s']:.1f} s)",
                f"cap {health['cap_rps']:g} calls/s",
                f"{health['ratio_to_cap']:.2f} x cap",
            )
        )
        rows.append(
            (
                "4 Adobe calls per flow",
                f"{health['calls_per_flow']:.3f}",
                f"{health['adobe_calls']} calls, {health['answered_429']} answered 429",
                f"seeding {health['seed_s']:.1f} s (separate)",
            )
        )
    cold = results.get("cold_start", {})
    if "error" in cold:
        rows.append(("5 cold start", "FAILED", cold["error"], ""))
    elif cold:
        handlers = cold["handlers"]
        ratios = sorted(h["ratio_to_boto3"] for h in handlers.values())
        slowest = max(handlers, key=lambda n: handlers[n]["import_ms"])
        rows.append(
            (
                f"5 handler import (median of {cold['repeats']}), slowest: {slowest}",
                f"{handlers[slowest]['import_ms']:.0f} ms",
                f"import boto3 {cold['boto3_import_ms']:.0f} ms",
                f"{handlers[slowest]['ratio_to_boto3']:.2f} x (all {ratios[0]:.2f}-{ratios[-1]:.2f})",
            )
        )
        rows.append(("5 layer size on disk", f"{cold['layer_bytes'] / 1e6:.1f} MB", cold["layer_source"], "-"))
    lines = [
        f"Benchmark ({results.get('mode')}; L = {lat:g} ms; cap {results.get('rate_limit_rps'):g} rps; "
        f"{results.get('machine', {}).get('cpus')} CPUs)",
        "",
        "| figure | measured | bound / baseline | ratio |",
        "| --- | --- | --- | --- |",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
        "",
        *(f"- {note}" for note in notes),
    ]
    if cold and "handlers" in cold:
        lines += ["", "| handler | import ms | x boto3 |", "| --- | --- | --- |"]
        lines += [
            f"| {name} | {h['import_ms']:.0f} | {h['ratio_to_boto3']:.2f} |"
            for name, h in sorted(cold["handlers"].items())
        ]
    return "\n".join(lines) + "\n"
