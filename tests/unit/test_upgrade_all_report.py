"""The upgrade-all report (``stripe_aep.steps.upgrade_all.fold_report``): one entry per tenant from its Map
iteration's result, counts, and the size bound that keeps it inside a Step Functions payload."""

from __future__ import annotations

import json

from stripe_aep.steps.upgrade_all import REPORT_LIMIT_BYTES, fold_report


def _upgraded(tenant: str, paths: int = 6) -> dict[str, object]:
    upgrades = [
        {
            "resourcePath": f"path_{i}",
            "fromVersion": 1,
            "toVersion": 2,
            "mappingSetVersion": 1,
            "writes": ["putMappingSet", "patchFlow"],
            "planned": [],
        }
        for i in range(paths)
    ]
    return {"tenantId": tenant, "upgrades": upgrades}


def test_each_tenant_is_upgraded_current_or_failed_with_its_cause() -> None:
    current = {"tenantId": "globex", "upgrades": [{"resourcePath": "charges", "fromVersion": 2, "toVersion": 2,
                                                   "writes": [], "planned": []}]}  # fmt: skip
    recorded = {"tenantId": "initech", "error": {"error": "AepValidationError", "cause": "step upgrade_dataflow"}}
    raw = {"tenantId": "umbrella", "error": {"Error": "Lambda.Unknown", "Cause": json.dumps({"errorMessage": "died"})}}

    report = fold_report(None, [_upgraded("acme", 2), current], dry_run=False)
    report = fold_report(report, [recorded, raw], dry_run=False)

    assert report["counts"] == {"upgraded": 1, "current": 1, "planned": 0, "failed": 2}
    by_tenant = {t["tenantId"]: t for t in report["tenants"]}
    assert [t["tenantId"] for t in report["tenants"]] == ["acme", "globex", "initech", "umbrella"]
    assert (by_tenant["acme"]["status"], by_tenant["acme"]["result"]) == ("SUCCEEDED", "upgraded")
    assert by_tenant["globex"]["result"] == "current"
    assert by_tenant["initech"] | {} == {"tenantId": "initech", "status": "FAILED", "result": "failed",
                                          "error": "AepValidationError", "cause": "step upgrade_dataflow"}  # fmt: skip
    assert (by_tenant["umbrella"]["error"], by_tenant["umbrella"]["cause"]) == ("Lambda.Unknown", "died")


def test_a_dry_run_reports_what_it_would_write() -> None:
    planned = {"tenantId": "acme", "upgrades": [{"resourcePath": "charges", "fromVersion": 1, "toVersion": 2,
                                                 "writes": [], "planned": ["putMappingSet m: version 2"]}]}  # fmt: skip
    report = fold_report(None, [planned], dry_run=True)
    (entry,) = report["tenants"]
    assert entry["result"] == "planned" and entry["upgrades"][0]["planned"] == ["putMappingSet m: version 2"]


def test_a_large_report_keeps_every_count_and_every_failure_within_the_limit() -> None:
    done = [_upgraded(f"tenant-{i:05d}") for i in range(3000)]
    failed = {"tenantId": "tenant-failed", "error": {"error": "MappingRejectedError", "cause": "x" * 900}}

    report = fold_report(None, [*done[:1500], failed], dry_run=False)
    report = fold_report(report, done[1500:], dry_run=False)

    assert len(json.dumps(report)) <= REPORT_LIMIT_BYTES
    assert report["counts"] == {"upgraded": 3000, "current": 0, "planned": 0, "failed": 1}
    assert len(report["tenants"]) + report["truncated"] == 3001
    kept = {t["tenantId"]: t for t in report["tenants"]}
    assert kept["tenant-failed"]["cause"] == "x" * 900
    assert kept["tenant-00000"] == {
        "tenantId": "tenant-00000", "status": "SUCCEEDED", "result": "upgraded", "writes": 12,
    }  # fmt: skip
