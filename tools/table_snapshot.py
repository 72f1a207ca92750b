"""Write the released Stripe -> XDM tables as JSON snapshots (``stripe_aep.evolution.tables_snapshot``).

    python -m tools.table_snapshot                      # the current tables -> tables/<generation>.json
    python -m tools.table_snapshot --git-ref main --out tables/stripe-aep-v1.json   # the tables of a git ref

A release of a table change runs it once and commits the file: ``tests/unit/test_table_evolution.py`` then
compares the working tables with the newest snapshot of their generation (``make test``), so that a breaking
edit fails before it reaches a tenant.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESOURCES_FILE = "layers/shared/stripe_aep/resources.py"
TABLES_DIR = ROOT / "tables"


def load_resources(git_ref: str | None) -> Any:
    """The ``stripe_aep.resources`` module of the working tree, or of ``git_ref`` (loaded under another name)."""
    if git_ref is None:
        sys.path.insert(0, str(ROOT / "layers" / "shared"))
        from stripe_aep import resources

        return resources
    git = shutil.which("git") or "git"
    source = subprocess.run(  # noqa: S603 - git show of a ref the operator names, no shell
        [git, "-C", str(ROOT), "show", f"{git_ref}:{RESOURCES_FILE}"], check=True, capture_output=True, text=True
    ).stdout
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "released_resources.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location("released_resources", path)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot load {RESOURCES_FILE} of {git_ref}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module


def snapshot(git_ref: str | None) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "layers" / "shared"))
    from stripe_aep.evolution import tables_snapshot

    module = load_resources(git_ref)
    return {"generation": module._VERSION_TAG, **tables_snapshot(module.RESOURCES)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--git-ref", help="snapshot the tables of this git ref instead of the working tree")
    parser.add_argument("--out", type=Path, help="output file (default tables/<generation>.json)")
    args = parser.parse_args(argv)
    data = snapshot(args.git_ref)
    out = args.out or TABLES_DIR / f"{data['generation'].replace(' ', '-')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    versions = ", ".join(f"{p} v{t['table_version']}" for p, t in data["paths"].items())
    print(f"{out}: {versions}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
