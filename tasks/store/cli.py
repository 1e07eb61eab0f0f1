"""Model store commands, for a local folder store and an S3 store alike.

    python -m tasks.store.cli list                      # versions: stage, blessing, time, data, metrics
    python -m tasks.store.cli show                      # the production pointer (and its history with --history)
    python -m tasks.store.cli promote 3 --reason "..."  # point production at version 3
    python -m tasks.store.cli rollback --reason "..."   # back to the version before the current one
    python -m tasks.store.cli shadow 4                  # score version 4 beside production (shadow --clear: stop)
    python -m tasks.store.cli config                    # print the TF Serving model config (and rewrite it)
    python -m tasks.store.cli clean                     # delete versions left incomplete by interrupted uploads

The store and model default to `deploy.store` / `deploy.model_name` of params.yaml, the model to the problem's name
when `deploy.model_name` is not set (`--store`, `--model` override them; `deploy.s3` gives the endpoint and region of
an S3 store). Promote and rollback refuse a version whose stored blessing is not blessed unless `--unblessed-reason`
says why; the reason is recorded in the pointer's history.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from tasks.core.errors import PipelineError
from tasks.core.params import Params
from tasks.store.location import store_from_params
from tasks.store.model_store import StoreBase


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def format_versions(rows: list[dict[str, Any]]) -> str:
    """The `list` table: one line per version, its stage of life, blessing, deploy time, training data and
    headline metric first (the gate's primary metric), then the other scores."""
    if not rows:
        return "no versions stored"
    lines = [f"{'version':>7}  {'stage':<11} {'blessed':<8} {'created_at':<26} {'data':<13} {'headline':<18} metrics"]
    for row in rows:
        blessed = "yes*" if row["overridden"] else ("yes" if row["blessed"] else "NO")
        headline = row.get("headline") or {}
        shown = f"{headline['metric']}={_number(headline.get('value'))}" if headline else "-"
        others = ", ".join(
            f"{k}={_number(v)}" for k, v in sorted(row["metrics"].items()) if k != headline.get("metric")
        )
        lines.append(
            f"{row['version']:>7}  {row['stage']:<11} {blessed:<8} {row['created_at'] or '-':<26} "
            f"{row.get('data_sha256') or '-':<13} {shown:<18} {others}".rstrip()
        )
    if any(row["overridden"] for row in rows):
        lines.append("* blessed by a gate override (see the version's blessing.json)")
    return "\n".join(lines)


def run(store: StoreBase, args: argparse.Namespace) -> str:
    """Carry out one command; returns what to print."""
    if args.command == "list":
        rows = store.describe()
        return json.dumps(rows, indent=2) if args.json else format_versions(rows)
    if args.command == "show":
        pointer = store.production()
        if pointer is None:
            return f"{store.location}: nothing in production"
        shown = pointer if args.history else {k: v for k, v in pointer.items() if k != "history"}
        return json.dumps({"production": shown, "shadow": store.shadow()}, indent=2)
    if args.command == "promote":
        pointer = store.promote(
            args.version, args.reason, require_blessing=True, unblessed_reason=args.unblessed_reason
        )
        return f"production is now version {pointer['version']} (was {pointer['previous_version']})"
    if args.command == "rollback":
        pointer = store.rollback(args.reason, unblessed_reason=args.unblessed_reason)
        return f"rolled back: production is now version {pointer['version']} (was {pointer['previous_version']})"
    if args.command == "shadow":
        if args.clear == (args.version is not None):
            raise PipelineError("shadow: give a version, or --clear")
        record = store.set_shadow(None if args.clear else args.version, args.reason)
        return f"shadow version: {record['version']}"
    if args.command == "config":
        store.write_model_config()
        return store.model_config()
    if args.command == "clean":
        removed = store.clean_incomplete(timedelta(minutes=args.older_than_min))
        return "\n".join(["removed:", *removed]) if removed else "nothing incomplete to remove"
    raise AssertionError(args.command)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m tasks.store.cli", description=__doc__.split("\n\n")[0])
    top.add_argument("--store", help="a folder or s3://bucket/prefix (default: deploy.store)")
    top.add_argument("--model", help="model name (default: deploy.model_name, else the problem's name)")
    top.add_argument("--params", default="params.yaml")
    commands = top.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="versions: stage of life, blessing, time, data hash, headline metric")
    listing.add_argument("--json", action="store_true")
    show = commands.add_parser("show", help="the production pointer and the shadow version")
    show.add_argument("--history", action="store_true", help="include every earlier pointer")
    promote = commands.add_parser("promote", help="point production at a version")
    promote.add_argument("version", type=int)
    rollback = commands.add_parser("rollback", help="put the previous production version back")
    for command in (promote, rollback):
        command.add_argument("--reason", required=True, help="why (recorded in the pointer's history)")
        command.add_argument("--unblessed-reason", help="required to use a version that is not blessed")
    shadow = commands.add_parser("shadow", help="score a version beside production on live traffic")
    shadow.add_argument("version", type=int, nargs="?")
    shadow.add_argument("--clear", action="store_true", help="stop shadow scoring")
    shadow.add_argument("--reason", default="")
    commands.add_parser("config", help="print and rewrite the TF Serving model config mirroring the pointer")
    clean = commands.add_parser("clean", help="delete versions left incomplete by interrupted uploads")
    clean.add_argument("--older-than-min", type=float, default=60.0, help="leave younger ones (may be uploading)")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        given = args.store and args.model  # then params.yaml is only needed for deploy.s3, if it exists
        params = Params({}) if given and not Path(args.params).exists() else Params.load(args.params)
        store = store_from_params(params, args.store, args.model)
        print(run(store, args))
    except (PipelineError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
