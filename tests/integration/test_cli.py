"""The operator's CLI (`stripe-aep`) against a running local stack, as an operator runs it.

`stripe-aep local up --background` starts moto + the AEP simulator in its own process (the Lambda handlers run
there); every command here is a real `stripe-aep --local` subprocess talking to moto over HTTP. Outcomes are
checked in DynamoDB (boto3 against moto) and in the simulator (its Flow Service API over HTTP).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from local.aep_simulator.stripe_data import sample_rows
from tests.integration.conftest import require_app
from tests.integration.support import ADOBE, ADOBE_ORG, Running, as_json, cli, local_up, stripe_aep


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """`stripe-aep --stack-file F local up --background --seed-demo` for the module; `local down` after (checked)."""
    require_app()
    stack_file = tmp_path_factory.mktemp("local") / "stack.json"
    with local_up(stack_file, "--seed-demo", "--health-every", "0") as (started, _):
        yield started


@pytest.mark.parametrize("bad", ["../other", "Acme", "\u0430cme", "a" * 41, "acme/../../x"])
def test_bad_tenant_id_is_a_usage_error_and_starts_nothing(running: Running, bad: str) -> None:
    before = len(running.executions("Provision"))
    result = cli(running, "provision", bad)
    assert result.returncode == 2
    assert "tenant id must be" in result.stderr
    assert len(running.executions("Provision")) == before


def test_bad_resource_path_is_a_usage_error(running: Running) -> None:
    before = len(running.executions("Provision"))
    result = cli(running, "provision", "acme", "--path", "invoices")
    assert result.returncode == 2
    # the message names the option typed and lists the allowed values (not the model's field)
    assert "--path" in result.stderr and "invoices" in result.stderr
    assert "charges, subscriptions, refunds" in result.stderr
    assert "resourcePaths" not in result.stderr
    assert len(running.executions("Provision")) == before


def test_provision_status_health_disable(running: Running) -> None:
    # provision: the execution succeeds and DynamoDB holds the tenant and its dataflow
    result = cli(running, "--json", "provision", "acme", "--path", "charges")
    assert result.returncode == 0, result.stdout + result.stderr
    report = as_json(result)
    assert report["execution"]["status"] == "SUCCEEDED"
    assert report["execution"]["started"] is True
    assert report["execution"]["name"].startswith("provision-acme-")
    assert {"state": "CompleteProvisioning"} in report["execution"]["states"]
    tenant = running.item("TENANT", "acme")
    dataflow = running.item("PATH#charges", "acme")
    assert tenant is not None and tenant["status"]["S"] == "ACTIVE"
    assert dataflow is not None and dataflow["status"]["S"] == "ACTIVE"
    flow_id = dataflow["flow_id"]["S"]
    assert running.aep_flow(flow_id)["state"] == "enabled"

    # the same request once the first ended is a new request: a new execution (-r1) that creates nothing
    flows_before = len(running.executions("Provision"))
    again = cli(running, "--json", "provision", "acme", "--path", "charges")
    assert again.returncode == 0
    assert as_json(again)["execution"]["started"] is True
    assert as_json(again)["execution"]["name"] == report["execution"]["name"] + "-r1"
    assert as_json(again)["adobeObjects"] == {"created": 0, "alreadyExisted": 6}
    assert len(running.executions("Provision")) == flows_before + 1
    assert running.item("PATH#charges", "acme")["flow_id"]["S"] == flow_id
    # ... and says so: every create state found its object
    third = cli(running, "provision", "acme", "--path", "charges")
    assert third.returncode == 0, third.stdout + third.stderr
    assert "= CreateDataflow (charges): already existed, nothing created" in third.stdout
    assert "= CreateBaseConnection: already existed, nothing created" in third.stdout
    assert "✓ CreateDataflow" not in third.stdout
    assert "0 Adobe objects created, 6 already existed" in third.stdout
    assert running.item("PATH#charges", "acme")["flow_id"]["S"] == flow_id

    # status: the table's IDs are DynamoDB's
    status = cli(running, "--json", "status", "acme")
    assert status.returncode == 0
    (row,) = as_json(status)["tenants"]
    assert row["tenant"]["status"] == "ACTIVE"
    assert [(d["resource_path"], d["flow_id"]) for d in row["dataflows"]] == [("charges", flow_id)]
    human = cli(running, "status")
    assert human.returncode == 0 and flow_id in human.stdout and "acme" in human.stdout
    # piped output is plain: no box drawing, no colour codes, one line per row (IDs whole, never wrapped)
    assert not set("┏┃━│└\x1b") & set(human.stdout)
    (charges_line,) = [line for line in human.stdout.splitlines() if " charges " in line]
    assert flow_id in charges_line
    # global options where users put them
    after = cli(running, "status", "acme", "--json")
    assert after.returncode == 0 and as_json(after) == as_json(status)

    # health: the health-check function ran and wrote its verdict on the dataflow item
    health = cli(running, "--json", "health", "acme")
    assert health.returncode in (0, 3), health.stdout + health.stderr
    verdict = as_json(health)
    assert verdict["result"]["checked"] >= 1
    checked = running.item("PATH#charges", "acme")
    assert checked is not None and "health_status" in checked
    assert (health.returncode == 3) == (checked["health_status"]["S"] in {"FAILED", "STALE", "MISSING", "DEGRADED"})

    # update-schedule with --frequency alone: every 1 unit (the help says so), not "needs an interval"
    daily = cli(running, "update-schedule", "acme", "--frequency", "day")
    assert daily.returncode == 0, daily.stdout + daily.stderr
    schedule = running.aep_flow(flow_id)["scheduleParams"]
    assert (schedule["frequency"], schedule["interval"]) == ("day", 1)

    # update-schedule --name alone renames and keeps the schedule; neither option is a usage error (exit 2)
    original = running.aep_flow(flow_id)["name"]
    renamed = cli(running, "update-schedule", "acme", "--path", "charges", "--name", "acme-charges-renamed")
    assert renamed.returncode == 0, renamed.stdout + renamed.stderr
    flow = running.aep_flow(flow_id)
    assert flow["name"] == "acme-charges-renamed"
    assert (flow["scheduleParams"]["frequency"], flow["scheduleParams"]["interval"]) == ("day", 1)
    back = cli(running, "update-schedule", "acme", "--path", "charges", "--name", original)
    assert back.returncode == 0 and running.aep_flow(flow_id)["name"] == original, back.stdout + back.stderr
    neither = cli(running, "update-schedule", "acme")
    assert neither.returncode == 2 and "--frequency" in neither.stderr and "--name" in neither.stderr

    # disable: the flow is disabled in AEP and DynamoDB says so
    disable = cli(running, "disable", "acme")
    assert disable.returncode == 0, disable.stdout + disable.stderr
    assert "disable acme: SUCCEEDED" in disable.stdout
    assert running.aep_flow(flow_id)["state"] == "disabled"
    disabled = running.item("PATH#charges", "acme")
    assert disabled is not None and disabled["flow_state"]["S"] == "disabled"


def test_failed_provisioning_exits_1_with_the_cause_and_retries_under_a_new_name(running: Running) -> None:
    running.client("secretsmanager").create_secret(
        Name="stripe-aep/tenants/initech", SecretString="sk_test_not_accepted_by_stripe_0001"
    )
    first = cli(running, "--json", "provision", "initech", "--path", "charges")
    assert first.returncode == 1
    report = as_json(first)
    assert report["execution"]["status"] == "FAILED"
    assert report["execution"]["error"]
    tenant = running.item("TENANT", "initech")
    assert tenant is not None and tenant["status"]["S"] == "FAILED"

    human = cli(running, "provision", "initech", "--path", "charges")
    assert human.returncode == 1
    assert "provision initech: FAILED" in human.stdout
    # the failed step is shown failed, with its error, and never with a check mark
    failed_lines = [line for line in human.stdout.splitlines() if line.strip().startswith("✗")]
    assert len(failed_lines) == 1, human.stdout
    failed_state = failed_lines[0].split()[1]
    assert "StripeSourceRejectedError" in failed_lines[0]
    assert f"✓ {failed_state}" not in human.stdout
    # the message and the cause are not the same text twice
    assert human.stdout.count("sk_test_not_accepted") == 0
    message_lines = [line for line in human.stdout.splitlines() if line.strip().startswith(("message:", "cause:"))]
    assert len({line.split(":", 1)[1].strip() for line in message_lines}) == len(message_lines)
    assert "-r1" in human.stdout  # the failed name is not reused: the retry runs as {name}-r1
    names = sorted(e["name"] for e in running.executions("Provision") if "-initech-" in e["name"])
    assert names == [report["execution"]["name"], f"{report['execution']['name']}-r1"]


def test_no_stack_is_a_usage_error(tmp_path: Path) -> None:
    result = stripe_aep("--local", "--stack-file", str(tmp_path / "none.json"), "status")
    assert result.returncode == 2
    assert "local up" in result.stderr


def test_global_options_are_accepted_after_the_command(tmp_path: Path) -> None:
    result = stripe_aep("status", "--local", "--stack-file", str(tmp_path / "none.json"), "--json")
    assert result.returncode == 2
    assert "No such option" not in result.stderr
    assert "local up" in json.loads(result.stdout)["error"]


def test_option_errors_name_the_option_and_list_the_allowed_values(running: Running) -> None:
    before = len(running.executions("Provision"))
    fortnight = cli(running, "provision", "acme", "--frequency", "fortnight")
    assert fortnight.returncode == 2
    assert "--frequency" in fortnight.stderr and "once, minute, hour, day, week" in fortnight.stderr
    too_often = cli(running, "provision", "acme", "--frequency", "minute", "--interval", "5")
    assert too_often.returncode == 2
    assert "--interval" in too_often.stderr and "schedule." not in too_often.stderr
    assert len(running.executions("Provision")) == before


def test_a_bad_field_selection_is_a_usage_error_and_starts_nothing(running: Running) -> None:
    before = len(running.executions("Lifecycle"))
    unknown = cli(running, "fields", "acme", "charges", "--exclude", "nosuchfield")
    assert unknown.returncode == 2
    assert "nosuchfield" in unknown.stderr and "not a field of Stripe" in unknown.stderr
    required = cli(running, "fields", "acme", "charges", "--exclude", "id")
    assert required.returncode == 2 and "cannot be excluded" in required.stderr
    assert len(running.executions("Lifecycle")) == before


def test_purge_shows_the_datasets_and_asks_first(running: Running) -> None:
    provision = cli(running, "provision", "globex", "--path", "refunds")
    assert provision.returncode == 0, provision.stdout + provision.stderr
    dataflow = running.item("PATH#refunds", "globex")
    assert dataflow is not None
    dataset_id = dataflow["dataset_id"]["S"]

    # no terminal to ask on and no --yes: refused, the datasets listed, nothing started or deleted
    refused = cli(running, "deprovision", "globex", "--purge")
    assert refused.returncode == 2
    assert dataset_id in refused.stderr and "--yes" in refused.stderr
    assert not [e for e in running.executions("Deprovision") if "-globex-" in e["name"]]
    assert running.aep_get(f"/data/foundation/catalog/dataSets/{dataset_id}").status_code == 200

    purged = cli(running, "deprovision", "globex", "--purge", "--yes")
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert "deprovision globex: SUCCEEDED" in purged.stdout
    assert running.aep_get(f"/data/foundation/catalog/dataSets/{dataset_id}").status_code == 404


def test_run_now_follows_the_run_and_prints_its_counts(running: Running) -> None:
    provisioned = cli(running, "provision", "globex", "--path", "customers")
    assert provisioned.returncode == 0, provisioned.stdout + provisioned.stderr
    # a backfill of the first half of January 2026, when the Stripe customers of the local stack were created
    window = ("--from", "2026-01-01T00:00:00Z", "--to", "1768521600")
    result = cli(running, "--json", "run", "globex", "--path", "customers", *window)
    assert result.returncode == 0, result.stdout + result.stderr
    report = as_json(result)
    assert report["execution"]["status"] == "SUCCEEDED"
    (run,) = report["runs"].values()
    assert run["state"] == "success"
    # the local stack's customers (the simulator's default samples of a Stripe account) created in the window
    start, end = 1767225600, 1768521600
    held = [c for c in sample_rows("customers") if start <= int(c["created"]) < end]
    assert held and run["recordsRead"] == len(held), run
    assert run["recordsWritten"] == len(held) and run["recordsFailed"] == 0, run
    landed = cli(running, "--json", "data", "globex", "customers", "--limit", "50")
    assert landed.returncode == 0, landed.stdout + landed.stderr
    ids = sorted(r[ns]["stripe_customers"]["id"] for r in as_json(landed)["rows"] for ns in r if ns.startswith("_"))
    assert ids == sorted(c["id"] for c in held), "the run's rows landed in the dataset"
    human = cli(running, "run", "globex", "--path", "customers", *window)  # the same window: the same run
    assert human.returncode == 0, human.stdout + human.stderr
    assert "customers: run " in human.stdout and " success: " in human.stdout and " read, " in human.stdout
    before = len(running.executions("Lifecycle"))
    bad = cli(running, "run", "globex", "--from", "2999-01-01T00:00:00Z", "--to", "2999-01-02T00:00:00Z")
    assert bad.returncode == 2 and "windowEndTime" in bad.stderr  # refused before any execution
    assert len(running.executions("Lifecycle")) == before


def test_plan_shows_what_provisioning_would_repair(running: Running) -> None:
    # a tenant nobody provisioned (globex itself may have been provisioned by the tests before this one)
    unknown = cli(running, "plan", "nosuchtenant")
    assert unknown.returncode == 1 and "no tenant nosuchtenant" in unknown.stderr
    assert cli(running, "--json", "provision", "globex", "--path", "refunds").returncode == 0
    clean = as_json(cli(running, "plan", "globex", "--json"))
    assert clean["changes"] == 0
    assert {(a["verb"], a["kind"]) for a in clean["actions"]} >= {("keep", "flow"), ("keep", "base_connection")}

    flow_id = running.item("PATH#refunds", "globex")["flow_id"]["S"]
    base = running.document["simulatorUrl"].rstrip("/")
    token = requests.post(
        f"{base}/ims/token/v3", data={"grant_type": "client_credentials", **ADOBE, "scope": "openid"}, timeout=10
    ).json()["access_token"]
    headers = {
        "Authorization": f"Bearer {token}",
        "x-api-key": ADOBE["client_id"],
        "x-gw-ims-org-id": ADOBE_ORG,
        "x-sandbox-name": "prod",
    }
    gone = requests.delete(f"{base}/data/foundation/flowservice/flows/{flow_id}", headers=headers, timeout=10)
    assert gone.status_code == 204

    drifted = as_json(cli(running, "--json", "plan", "globex"))
    assert drifted["changes"] == 1
    assert [(a["verb"], a["kind"], a["objectId"]) for a in drifted["actions"] if a["verb"] != "keep"] == [
        ("recreate", "flow", flow_id)
    ]
    human = cli(running, "plan", "globex")
    assert human.returncode == 0 and "recreate" in human.stdout and "1 change(s)" in human.stdout

    assert cli(running, "--json", "provision", "globex", "--path", "refunds").returncode == 0
    assert as_json(cli(running, "--json", "plan", "globex"))["changes"] == 0
    repaired = running.item("PATH#refunds", "globex")["flow_id"]["S"]
    assert repaired != flow_id and running.aep_flow(repaired)["state"] == "enabled"


def test_upgrade_all_starts_one_upgrade_all_execution_and_prints_each_tenant(running: Running) -> None:
    added = cli(running, "local", "add-tenant", "umbrella")  # its Stripe key in the simulator and its secret
    assert added.returncode == 0, added.stdout + added.stderr
    provisioned = cli(running, "provision", "umbrella", "--path", "refunds")
    assert provisioned.returncode == 0, provisioned.stdout + provisioned.stderr
    before = len(running.executions("UpgradeAll"))
    lifecycle_before = len(running.executions("Lifecycle"))

    dry = cli(running, "--json", "upgrade", "--all", "--dry-run", "--batch", "1")

    assert dry.returncode == 0, dry.stdout + dry.stderr
    report = as_json(dry)
    (execution,) = report["executions"]
    assert execution["status"] == "SUCCEEDED" and execution["name"].startswith("upgrade-all-")
    assert report["report"]["dryRun"] is True
    results = {t["tenantId"]: t["result"] for t in report["report"]["tenants"]}
    assert "umbrella" in results and set(results.values()) == {"current"}  # provisioned on the current tables
    assert len(running.executions("UpgradeAll")) == before + 1
    assert len(running.executions("Lifecycle")) == lifecycle_before  # no execution per tenant any more

    human = cli(running, "upgrade", "--all")
    assert human.returncode == 0, human.stdout + human.stderr
    assert "umbrella: SUCCEEDED current (refunds v" in human.stdout and "no write" in human.stdout
    assert "upgrade-all-" in human.stdout and f"{len(results)} current" in human.stdout
    assert len(running.executions("UpgradeAll")) == before + 2
