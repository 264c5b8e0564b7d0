"""The `tenths` command. Parses arguments, calls assistant.commands.*, turns errors into one sentence.

Exit codes (CONTRACT.md): 0 done; 1 the validator refused something; 2 bad usage or an unusable firm folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import logging
import sys
from pathlib import Path

from .errors import ConfigError, RefusedError, TenthsError


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date in YYYY-MM-DD form") from None


def _month(value: str) -> str:
    try:
        dt.datetime.strptime(value, "%Y-%m")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a month in YYYY-MM form") from None
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tenths", description="Find unbilled time, flag what clients reject, export LEDES.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("demo", help="write a synthetic firm folder")
    s.add_argument("out", type=Path, help="folder to write (new, or an earlier demo)")
    s.add_argument("--attorneys", type=int, default=5, help="number of attorneys, 1 to 100 (default 5)")
    s.add_argument("--month", type=_month, default="2026-10", help="month of activity, YYYY-MM (default 2026-10)")
    s.add_argument("--seed", type=int, default=7, help="random seed; the same seed writes the same bytes")

    s = sub.add_parser("analyze", help="ingest, match, reconstruct and find gaps for a period")
    s.add_argument("firm", type=Path, help="the firm folder (firm.toml, timekeepers.csv, ...)")
    s.add_argument("--from", dest="date_from", type=_date, required=True, metavar="YYYY-MM-DD",
                   help="first day of the period")
    s.add_argument("--to", dest="date_to", type=_date, required=True, metavar="YYYY-MM-DD",
                   help="last day of the period (inclusive)")
    s.add_argument("--out", type=Path, required=True, help="where to write")
    s.add_argument("--quiet", action="store_true", help="no progress bars")

    s = sub.add_parser("sweep", help="end-of-day prompts for evidence with no entry")
    s.add_argument("firm", type=Path, help="the firm folder (firm.toml, timekeepers.csv, ...)")
    s.add_argument("--date", type=_date, required=True, metavar="YYYY-MM-DD", help="the day to sweep")
    s.add_argument("--out", type=Path, required=True, help="where to write")

    s = sub.add_parser("code", help="fill UTBMS task and activity codes")
    s.add_argument("firm", type=Path, help="the firm folder (firm.toml, timekeepers.csv, ...)")
    s.add_argument("--entries", type=Path, required=True, metavar="FILE", help="time entries CSV (time_entries.csv columns)")
    s.add_argument("--out", type=Path, required=True, help="where to write")

    s = sub.add_parser("check", help="flag entries clients would reject")
    s.add_argument("firm", type=Path, help="the firm folder (firm.toml, timekeepers.csv, ...)")
    s.add_argument("--entries", type=Path, required=True, metavar="FILE", help="time entries CSV (time_entries.csv columns)")
    s.add_argument("--expenses", type=Path, metavar="FILE", help="expenses CSV (expenses.csv columns)")
    s.add_argument("--out", type=Path, required=True, help="where to write")

    s = sub.add_parser("ledes", help="write a LEDES invoice for one matter")
    s.add_argument("firm", type=Path, help="the firm folder (firm.toml, timekeepers.csv, ...)")
    s.add_argument("--entries", type=Path, required=True, metavar="FILE", help="time entries CSV (time_entries.csv columns)")
    s.add_argument("--expenses", type=Path, metavar="FILE", help="expenses CSV (expenses.csv columns)")
    s.add_argument("--matter", required=True, metavar="ID", help="matter_id from matters.csv")
    s.add_argument("--invoice-number", required=True, metavar="N", help="the invoice number, as the client will see it")
    s.add_argument("--invoice-date", type=_date, required=True, metavar="YYYY-MM-DD",
                   help="the invoice date (not before --from)")
    s.add_argument("--from", dest="date_from", type=_date, required=True, metavar="YYYY-MM-DD",
                   help="first day of the period")
    s.add_argument("--to", dest="date_to", type=_date, required=True, metavar="YYYY-MM-DD",
                   help="last day of the period (inclusive)")
    s.add_argument("--out", type=Path, required=True, help="where to write")
    s.add_argument("--format", default="1998B", choices=["1998B", "XML2.1"], help="LEDES format (default 1998B)")

    s = sub.add_parser("letter", help="draft an invoice cover letter or a client status report")
    s.add_argument("kind", choices=["cover", "status"], help="cover: invoice cover letter; status: client status report")
    s.add_argument("firm", type=Path, help="the firm folder (firm.toml, timekeepers.csv, ...)")
    s.add_argument("--matter", required=True, metavar="ID", help="matter_id from matters.csv")
    s.add_argument("--entries", type=Path, metavar="FILE", help="time entries CSV (default: the firm's time_entries.csv)")
    s.add_argument("--out", type=Path, required=True, help="where to write")
    s.add_argument("--invoice-number", default=None, metavar="N", help="cover letter: the invoice it accompanies")
    s.add_argument("--invoice-date", type=_date, default=None, metavar="YYYY-MM-DD",
                   help="cover letter: the invoice date (default today)")
    s.add_argument("--from", dest="date_from", type=_date, default=None, metavar="YYYY-MM-DD",
                   help="first day of the period (default: last month)")
    s.add_argument("--to", dest="date_to", type=_date, default=None, metavar="YYYY-MM-DD",
                   help="last day of the period")

    s = sub.add_parser("eval", help="run the evaluations and print their metrics as JSON")
    s.add_argument("--dataset", default=None, metavar="NAME", help="one dataset of evals/ (default: all)")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    # Warnings (a refused model answer, a parser that failed) reach the user as one line each.
    logging.basicConfig(level=logging.WARNING, format=f"tenths {ns.command}: %(message)s")
    module = importlib.import_module(f"assistant.commands.{ns.command}")
    try:
        return int(module.run(ns) or 0)
    except ConfigError as e:
        print(f"tenths {ns.command}: {e}", file=sys.stderr)
        return 2
    except RefusedError as e:
        print(f"tenths {ns.command}: {e}", file=sys.stderr)
        for reason in e.reasons:
            print(f"  - {reason}", file=sys.stderr)
        return 1
    except TenthsError as e:
        print(f"tenths {ns.command}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
