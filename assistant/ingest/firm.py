"""The firm's own files: firm.toml, timekeepers, clients, matters, contacts, guidelines.

These are not activity sources: a firm file that cannot be used stops the run with a ConfigError
naming the file and line (exit 2), because every later step depends on it.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal, InvalidOperation
from typing import Callable, TypeVar

from pydantic import ValidationError

from ..errors import ConfigError, IngestError
from ..models import (
    CLASSIFICATION_LOC_TO_SHORT, CLASSIFICATIONS_SHORT, Client, Contact, Firm, Matter, Timekeeper,
)
from . import normalize
from .csvutil import read_rows, split_list

T = TypeVar("T")


def parse_firm_toml(data: bytes, path: str = "firm.toml") -> Firm:
    try:
        raw = tomllib.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"not valid TOML ({e})", file=path) from None
    raw = raw.get("firm", raw) if isinstance(raw.get("firm"), dict) else raw
    missing = [k for k in ("name", "law_firm_id") if not raw.get(k)]
    if missing:
        raise ConfigError(f"missing required key(s) {', '.join(missing)}", file=path)
    try:
        return Firm(**{k: v for k, v in raw.items() if k in Firm.model_fields})
    except ValidationError as e:
        raise ConfigError(_first_error(e), file=path) from None
    except Exception as e:  # ZoneInfo raises several types for unknown zones
        raise ConfigError(f"unusable value ({e})", file=path) from None


def parse_guidelines_toml(data: bytes, path: str) -> dict:
    try:
        return tomllib.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"not valid TOML ({e})", file=path) from None


def classification(value: str) -> str:
    v = value.strip().upper()
    if v in CLASSIFICATIONS_SHORT:
        return v
    if v in CLASSIFICATION_LOC_TO_SHORT:
        return CLASSIFICATION_LOC_TO_SHORT[v]
    raise ValueError(
        f"classification {value!r} is not a LEDES timekeeper classification "
        f"({', '.join(CLASSIFICATIONS_SHORT)} or a LOC 2014 code such as PARTNR, ASSOC, PARALG)"
    )


def parse_timekeepers(data: bytes, path: str = "timekeepers.csv") -> list[Timekeeper]:
    def build(v: dict[str, str]) -> Timekeeper:
        emails = split_list(v["email"])
        return Timekeeper(
            timekeeper_id=v["timekeeper_id"], name=v["name"], classification=classification(v["classification"]),
            rate=_money(v["rate"], "rate"), email=normalize.email(emails[0]) if emails else "",
            aliases=[normalize.email(e) for e in emails[1:]],
            phone=normalize.phone(v.get("phone", "")), timezone=_zone(v.get("timezone") or None),
        )

    return _parse(data, path, ["timekeeper_id", "name", "classification", "rate", "email"], build,
                  unique="timekeeper_id")


def parse_clients(data: bytes, path: str = "clients.csv") -> list[Client]:
    def build(v: dict[str, str]) -> Client:
        return Client(
            client_id=v["client_id"], name=v["name"], ledes_client_id=v["ledes_client_id"],
            billing_email=v["billing_email"],
            domains=[d.lower().lstrip("@") for d in split_list(v.get("domains", ""))],
            guidelines=v.get("guidelines") or None,
        )

    return _parse(data, path, ["client_id", "name", "ledes_client_id", "billing_email"], build, unique="client_id")


def parse_matters(data: bytes, path: str = "matters.csv") -> list[Matter]:
    def build(v: dict[str, str]) -> Matter:
        return Matter(
            matter_id=v["matter_id"], client_id=v["client_id"], name=v["name"],
            status=v["status"].lower(), billing_type=v["billing_type"].lower().replace(" ", "_").replace("-", "_"),
            code_set=(v["code_set"] or "none").lower(), client_matter_id=v.get("client_matter_id", ""),
            lead_timekeeper_id=v.get("lead_timekeeper_id", ""), references=split_list(v.get("references", "")),
            rates=_rates(v.get("rates", "")), flat_fee=_money(v["flat_fee"], "flat_fee") if v.get("flat_fee") else None,
        )

    return _parse(data, path, ["matter_id", "client_id", "name", "status", "billing_type", "code_set"], build,
                  unique="matter_id")


def parse_contacts(data: bytes, path: str = "contacts.csv") -> list[Contact]:
    def build(v: dict[str, str]) -> Contact:
        return Contact(
            client_id=v["client_id"], name=v["name"], email=normalize.email(v.get("email", "")),
            phone=normalize.phone(v.get("phone", "")), matter_id=v.get("matter_id", ""),
        )

    return _parse(data, path, ["client_id", "name", "email", "phone"], build)


def check_references(timekeepers: list[Timekeeper], clients: list[Client], matters: list[Matter],
                     contacts: list[Contact]) -> None:
    """Cross-file integrity: a matter's client must exist, and so on."""
    client_ids = {c.client_id for c in clients}
    matter_ids = {m.matter_id for m in matters}
    tk_ids = {t.timekeeper_id for t in timekeepers}
    for m in matters:
        if m.client_id not in client_ids:
            raise ConfigError(f"matter {m.matter_id} names unknown client {m.client_id}", file="matters.csv")
        if m.lead_timekeeper_id and m.lead_timekeeper_id not in tk_ids:
            raise ConfigError(f"matter {m.matter_id} names unknown lead timekeeper {m.lead_timekeeper_id}",
                              file="matters.csv")
    for c in contacts:
        if c.client_id not in client_ids:
            raise ConfigError(f"contact {c.name} names unknown client {c.client_id}", file="contacts.csv")
        if c.matter_id and c.matter_id not in matter_ids:
            raise ConfigError(f"contact {c.name} names unknown matter {c.matter_id}", file="contacts.csv")


# --------------------------------------------------------------------------- helpers


def _parse(data: bytes, path: str, required: list[str], build: Callable[[dict[str, str]], T],
           unique: str | None = None) -> list[T]:
    """Every row built, or a ConfigError naming the file and line; `unique`: a column no two rows may share."""
    try:
        _, rows = read_rows(data, path, required)
        out = []
        seen: dict[str, int] = {}
        for row in rows:
            if "__error__" in row.values:
                raise ConfigError(row.values["__error__"], file=path, line=row.line)
            empty = [c for c in required if not row.values.get(c)]
            if empty:
                raise ConfigError(f"empty required value(s) {', '.join(empty)}", file=path, line=row.line)
            try:
                out.append(build(row.values))
            except ValidationError as e:
                raise ConfigError(_first_error(e), file=path, line=row.line) from None
            except (ValueError, InvalidOperation) as e:
                raise ConfigError(str(e), file=path, line=row.line) from None
            if unique:
                key = getattr(out[-1], unique)
                if key in seen:
                    raise ConfigError(f"duplicate {unique} {key} (first on line {seen[key]})", file=path,
                                      line=row.line)
                seen[key] = row.line
        return out
    except IngestError as e:
        raise ConfigError(str(e).removeprefix(f"{path}: "), file=path) from None


def _money(value: str, name: str) -> Decimal:
    try:
        d = Decimal(value.replace("$", "").replace(",", "").strip())
    except InvalidOperation:
        raise ValueError(f"{name} {value!r} is not a number") from None
    if not d.is_finite() or d < 0:
        raise ValueError(f"{name} {value!r} must be a non-negative number")
    return d


def _rates(cell: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for part in split_list(cell):
        key, _, val = part.partition("=")
        if not val:
            key, val = "*", key
        out[key.strip()] = _money(val, "rates")
    return out


def _zone(name: str | None) -> str | None:
    """The zone name, checked; a ValueError (the caller adds file and line) for an unknown one."""
    from zoneinfo import ZoneInfo

    if name:
        try:
            ZoneInfo(name)
        except Exception:  # ZoneInfo raises several types for unknown zones
            raise ValueError(f"unknown time zone {name!r}") from None
    return name


def _first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    loc = ".".join(str(x) for x in err.get("loc", ()))
    msg = err.get("msg", "invalid").removeprefix("Value error, ")
    return f"{loc}: {msg}" if loc else msg
