"""The simulator's Stripe accounts (seeding, Stripe's list envelope and paging), explore previews of seeded
data, flow runs that ingest (including scheduled ones) and the state folder; raw HTTP where Adobe is asked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.aep_simulator import AepSimulator
from local.aep_simulator.stripe_data import sample_rows
from tests.unit.simulator_support import CLIENT_ID, CLIENT_SECRET, FLOW, IMS_ORG, STRIPE_KEY, Api, explore


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[AepSimulator]:
    with AepSimulator(seed=0, state_dir=tmp_path / "state") as simulator:
        simulator.register_client(CLIENT_ID, CLIENT_SECRET, IMS_ORG)
        simulator.register_stripe_key(STRIPE_KEY)
        yield simulator


@pytest.fixture
def api(sim: AepSimulator) -> Api:
    return Api(sim)


def _charges(n: int) -> list[dict[str, Any]]:
    return [{"id": f"ch_{i:03d}", "object": "charge", "created": 1767225600 + i, "amount": i} for i in range(n)]


def test_stripe_list_envelope_newest_first_with_has_more_and_starting_after(sim: AepSimulator) -> None:
    sim.seed_stripe_account(STRIPE_KEY, {"charges": _charges(25)})
    first = sim.stripe_list(STRIPE_KEY, "charges")
    assert (first["object"], first["url"], first["has_more"]) == ("list", "/v1/charges", True)
    assert [c["id"] for c in first["data"]] == [f"ch_{i:03d}" for i in range(24, 14, -1)]  # default limit 10
    second = sim.stripe_list(STRIPE_KEY, "charges", limit=10, starting_after=first["data"][-1]["id"])
    third = sim.stripe_list(STRIPE_KEY, "charges", limit=10, starting_after=second["data"][-1]["id"])
    assert [len(p["data"]) for p in (first, second, third)] == [10, 10, 5]
    assert (second["has_more"], third["has_more"]) == (True, False)
    ids = [c["id"] for p in (first, second, third) for c in p["data"]]
    assert sorted(ids) == sorted(c["id"] for c in _charges(25)) and len(set(ids)) == 25
    with pytest.raises(ValueError, match="No such object"):
        sim.stripe_list(STRIPE_KEY, "charges", starting_after="ch_nope")
    with pytest.raises(ValueError, match="limit"):
        sim.stripe_list(STRIPE_KEY, "charges", limit=101)


def test_seeding_replaces_or_adds_and_bad_input_changes_nothing(sim: AepSimulator) -> None:
    assert [c["id"] for c in sim.stripe_list(STRIPE_KEY, "prices")["data"]] == [
        r["id"] for r in reversed(sample_rows("prices"))
    ]  # never seeded: the default samples
    sim.seed_stripe_account(STRIPE_KEY, {"charges": _charges(2)})
    sim.seed_stripe_account(STRIPE_KEY, {"charges": [{"id": "ch_001", "amount": 99}, {"id": "ch_new"}]}, replace=False)
    listed = {c["id"]: c for c in sim.stripe_list(STRIPE_KEY, "charges")["data"]}
    assert set(listed) == {"ch_000", "ch_001", "ch_new"} and listed["ch_001"]["amount"] == 99
    for bad in ({"charges": [{"amount": 1}]}, {"invoices": []}, {"charges": [{"id": ""}]}):
        with pytest.raises(ValueError):
            sim.seed_stripe_account(STRIPE_KEY, bad)  # type: ignore[arg-type]
    assert len(sim.stripe_list(STRIPE_KEY, "charges")["data"]) == 3
    other = "sk_test_other_account_000001"
    assert sim.stripe_list(other, "charges")["data"] == sim.stripe_list(other, "charges")["data"]
    assert {c["id"] for c in sim.stripe_list(other, "charges")["data"]} == {r["id"] for r in sample_rows("charges")}


def test_explore_preview_shows_the_seeded_account_of_that_connection(sim: AepSimulator, api: Api) -> None:
    base = api.base_connection()
    sim.seed_stripe_account_of(base["id"], {"charges": _charges(4)})
    rows = explore(api, base["id"], "true").json()["data"]
    assert [r["data"]["id"] for r in rows] == ["ch_003", "ch_002", "ch_001", "ch_000"]
    with pytest.raises(KeyError):
        sim.seed_stripe_account_of("nope", {})


def test_a_run_rejects_rows_missing_the_experience_event_id_and_timestamp(sim: AepSimulator, api: Api) -> None:
    ids = api.dataflow()  # its mapping set reads _id from data._id (absent) and maps nothing to timestamp
    sim.seed_stripe_account(STRIPE_KEY, {"charges": _charges(3)})
    run = sim.run_flow(ids["flow"])
    assert run["metrics"]["statusSummary"]["status"] == "failed"
    assert run["metrics"]["recordSummary"] == {"inputRecordCount": 3, "outputRecordCount": 0, "failedRecordCount": 3}
    failed = sim.dataset_failed_rows(
        api.call("GET", f"{FLOW}/targetConnections/{ids['target']}").json()["items"][0]["params"]["dataSetId"]
    )
    assert [f["record"]["id"] for f in failed] == ["ch_002", "ch_001", "ch_000"]
    required = ["/: '_id' is a required property", "/: 'timestamp' is a required property"]
    assert all(f["errors"] == required for f in failed)
    listed = api.call("GET", f"{FLOW}/runs?property=flowId=={ids['flow']}").json()["items"]
    assert [r["id"] for r in listed] == [run["id"]]
    assert api.call("GET", f"{FLOW}/flows/{ids['flow']}").json()["items"][0]["lastRunDetails"]["state"] == "failed"


def test_scheduled_runs_can_ingest_and_batches_land_in_the_state_folder(sim: AepSimulator, api: Api) -> None:
    ids = api.dataflow()  # hourly from 1767225600
    dataset_id = api.call("GET", f"{FLOW}/targetConnections/{ids['target']}").json()["items"][0]["params"]["dataSetId"]
    assert sim.generate_runs(until_ms=1767225600_000 + 3600_000, ingest=True) == 2
    batches = sim.dataset_batches(dataset_id)
    assert [b["recordsRead"] for b in batches] == [3, 3]  # the default samples
    assert [b["createdAt"] for b in batches] == [1767225600_000, 1767229200_000]
    folder = sim.state_dir / "datasets" / dataset_id
    assert sorted(p.name for p in folder.iterdir()) == sorted(b["id"] for b in batches)
    assert json.loads((folder / batches[0]["id"] / "failed.jsonl").read_text().splitlines()[0])["errors"]
    # scripted runs are still there for the tests that need them
    assert sim.generate_runs(until_ms=1767225600_000 + 2 * 3600_000) == 1
    assert sim.add_run(ids["flow"], "success")["metrics"]["recordSummary"]["inputRecordCount"] == 100


def test_a_temporary_state_folder_is_made_on_use_and_removed_on_stop() -> None:
    with AepSimulator() as simulator:
        folder = simulator.state_dir
        assert folder.is_dir() and folder.name.startswith("aep-simulator-")
    assert not folder.exists()
