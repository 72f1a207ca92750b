"""The compatibility check between table versions (stripe_aep.evolution): one test per rule of Adobe's schema
evolution table, and the repo's released snapshots (tables/) against the working tables."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from stripe_aep.errors import BreakingChangeError
from stripe_aep.evolution import RULES, compare, require_additive, table_snapshot, tables_snapshot
from stripe_aep.resources import RESOURCES, TABLE_VERSIONS

TABLES = Path(__file__).resolve().parents[2] / "tables"
GROUP = "_TENANT.stripe_charges."


def base() -> dict[str, Any]:
    return copy.deepcopy(table_snapshot(RESOURCES["charges"]))


def rules(old: dict[str, Any], new: dict[str, Any]) -> dict[str, str]:
    return {c.field: c.rule for c in compare("charges", old, new)}


def test_same_table_has_no_change() -> None:
    assert compare("charges", base(), base()) == []


def test_new_optional_field_is_additive() -> None:
    new = base()
    new["fields"]["risk_score"] = {"type": "integer"}
    new["mappings"][GROUP + "risk_score"] = "data.risk_score"

    changes = require_additive(compare("charges", base(), new))

    assert [(c.field, c.rule, c.breaking) for c in changes] == [("risk_score", "added", False)]


def test_new_enum_value_is_additive_and_a_removed_one_breaks() -> None:
    old, new = base(), base()
    old["fields"]["status"]["enum"] = ["succeeded", "failed"]
    new["fields"]["status"]["enum"] = ["succeeded", "failed", "pending"]
    assert rules(old, new) == {"status": "enum_value_added"}

    with pytest.raises(BreakingChangeError, match=r"field status: restricted .*Removing or restricting"):
        require_additive(compare("charges", new, old))


def test_removed_field_is_refused_with_its_name_and_rule() -> None:
    new = base()
    del new["fields"]["amount"]
    del new["mappings"][GROUP + "amount"]

    with pytest.raises(BreakingChangeError) as refused:
        require_additive(compare("charges", base(), new))

    assert "charges: field amount: removed (breaking: Removing previously defined fields" in str(refused.value)
    assert "help/xdm/schema/composition.md" in str(refused.value)


def test_renamed_field_is_refused() -> None:
    new = base()
    new["fields"]["amount_minor"] = new["fields"].pop("amount")
    new["mappings"][GROUP + "amount_minor"] = new["mappings"].pop(GROUP + "amount")

    assert rules(base(), new) == {"amount": "renamed"}
    with pytest.raises(BreakingChangeError, match=r"field amount: renamed .*Renaming or redefining.*now amount_minor"):
        require_additive(compare("charges", base(), new))


def test_moved_field_is_refused() -> None:
    new = base()
    new["fields"]["money.amount"] = new["fields"].pop("amount")
    new["mappings"][GROUP + "money.amount"] = new["mappings"].pop(GROUP + "amount")

    with pytest.raises(BreakingChangeError, match=r"field amount: moved .*Moving existing fields.*now money.amount"):
        require_additive(compare("charges", base(), new))


def test_retyped_field_is_refused() -> None:
    new = base()
    new["fields"]["amount"] = {"type": "string"}

    with pytest.raises(BreakingChangeError, match=r"field amount: retyped .*integer -> string"):
        require_additive(compare("charges", base(), new))


def test_narrowed_constraint_is_refused() -> None:
    new = base()
    new["fields"]["amount"]["maximum"] = 1000

    assert rules(base(), new) == {"amount": "restricted"}


def test_required_field_added_is_refused() -> None:
    new = base()
    new["required"] = ["amount"]

    with pytest.raises(BreakingChangeError, match=r"field amount: required_added .*required after ingestion"):
        require_additive(compare("charges", base(), new))


def test_changed_mapping_of_an_existing_field_is_additive() -> None:
    new = base()
    new["mappings"][GROUP + "amount"] = "data.amount_captured"

    assert rules(base(), new) == {GROUP + "amount": "mapping_changed"}
    require_additive(compare("charges", base(), new))


def test_every_rule_names_a_source() -> None:
    assert {rule for rule, (_, _, source) in RULES.items() if "help/" not in source} == set()
    assert {r for r, (breaking, _, _) in RULES.items() if breaking} == {
        "removed",
        "renamed",
        "moved",
        "retyped",
        "restricted",
        "required_added",
    }


def released(generation: str) -> dict[str, Any]:
    return json.loads((TABLES / f"{generation}.json").read_text())


def test_working_tables_are_additive_over_the_released_snapshot() -> None:
    """The CI gate: a table edit must bump its path's version and stay additive (tools/table_snapshot.py
    writes the new snapshot when it is released)."""
    snapshot = released("stripe-aep-v2")
    current = tables_snapshot()["paths"]
    for path, table in current.items():
        old = snapshot["paths"][path]
        changes = compare(path, old, table)
        if table["table_version"] == old["table_version"]:
            assert (changes, table) == ([], old), f"{path} changed: bump TABLE_VERSIONS[{path!r}] and release it"
        else:
            assert table["table_version"] > old["table_version"], path
            require_additive(changes)
    assert {p: t["table_version"] for p, t in current.items()} == dict(TABLE_VERSIONS)


def test_tables_v2_retype_metadata_against_v1_so_v2_is_a_new_generation() -> None:
    """Tables v2 against main's tables (v1): metadata became an XDM map (``meta:xdmType: map``) on five paths,
    a breaking change. v2 therefore has new field groups and schemas (titles "... (stripe-aep v2)"), and an
    organisation that ingested v1 data migrates once (docs/operations.md, "Table versions")."""
    v1, v2 = released("stripe-aep-v1"), released("stripe-aep-v2")

    breaking = [c for p in v2["paths"] for c in compare(p, v1["paths"][p], v2["paths"][p]) if c.breaking]

    assert sorted((c.resource_path, c.field, c.rule) for c in breaking) == [
        (p, "metadata", "retyped") for p in ("charges", "customers", "prices", "refunds", "subscriptions")
    ]
    assert all(c.detail == "object -> object (map)" for c in breaking)
    titles = {p: (v1["paths"][p]["field_group_title"], v2["paths"][p]["field_group_title"]) for p in v2["paths"]}
    assert all(old != new for old, new in titles.values())
    with pytest.raises(BreakingChangeError, match="charges: field metadata: retyped"):
        require_additive(compare("charges", v1["paths"]["charges"], v2["paths"]["charges"]))


def test_lifted_or_widened_constraint_is_additive() -> None:
    old, new = base(), base()
    new["fields"]["amount"]["maximum"] = old["fields"]["amount"]["maximum"] + 1
    del new["fields"]["amount"]["minimum"]

    assert compare("charges", old, new) == []
