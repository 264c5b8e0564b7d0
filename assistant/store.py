"""Review decisions and their audit trail, in any SQLAlchemy database (SQLite file by default, PostgreSQL).

Two tables:

- ``decisions``: one row per reviewed item (a time entry, a draft or an activity) of one firm, holding
  its status, its current values (JSON) and a version number;
- ``audit``: append-only, one row per action with who, when, before and after.

Every change names the version it read. A row whose version moved on in the meantime is not
overwritten: the change is refused with a `ConflictError` that says who changed it and when, so two
reviewers never lose an update silently. The decision and its audit row commit together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import (
    JSON, Column, DateTime, Integer, MetaData, String, Table, Text, and_, create_engine, event, insert, select, update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .errors import ConfigError, TenthsError
from .models import Draft

__all__ = ["AuditRecord", "ConflictError", "Decision", "ReviewStore", "entry_id_for_draft"]

Kind = Literal["entry", "draft", "activity"]
Status = Literal["pending", "approved", "rejected", "edited", "accepted", "assigned"]

metadata = MetaData()

decisions = Table(
    "decisions", metadata,
    Column("firm", String(64), primary_key=True),
    Column("item_id", String(128), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("matter_id", String(64), nullable=False, default=""),
    Column("status", String(16), nullable=False),
    Column("item_values", JSON, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("version", Integer, nullable=False),
    Column("updated_by", String(128), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

audit = Table(
    "audit", metadata,
    Column("audit_id", Integer, primary_key=True, autoincrement=True),
    Column("firm", String(64), nullable=False, index=True),
    Column("item_id", String(128), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("action", String(32), nullable=False),
    Column("who", String(128), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Column("reason", Text, nullable=False, default=""),
    Column("version", Integer, nullable=False),
)


class ConflictError(TenthsError):
    """Someone else saved the item after it was read; nothing was written."""

    def __init__(self, message: str, *, item_id: str = "", by: str = "", at: dt.datetime | None = None):
        self.item_id, self.by, self.at = item_id, by, at
        super().__init__(message)


class Decision(BaseModel):
    """The current state of one reviewed item."""

    item_id: str
    kind: Kind
    matter_id: str = ""
    status: Status = "pending"
    values: dict[str, Any] = Field(default_factory=dict)
    """The item's current fields (JSON form), after every edit so far."""
    reason: str = ""
    version: int = 0
    """0 = never saved. Pass it back with the next change."""
    updated_by: str = ""
    updated_at: dt.datetime | None = None


class AuditRecord(BaseModel):
    audit_id: int
    item_id: str
    kind: Kind
    action: str
    who: str
    at: dt.datetime
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    reason: str = ""
    version: int


def entry_id_for_draft(draft_id: str) -> str:
    """The id of the entry an accepted draft becomes (stable, so re-accepting is a conflict, not a copy)."""
    return f"N-{draft_id}"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class ReviewStore:
    """Decisions of one firm (`firm`: its LEDES law firm id or any stable key) in the database at `url`."""

    def __init__(self, url: str | None = None, *, firm: str = "", clock: Callable[[], dt.datetime] | None = None,
                 tz: str = "UTC", engine: Engine | None = None):
        if url is None:
            from .settings import load_settings

            url = load_settings().db_url  # TENTHS_DB, else the SQLite file beside the cache
        self.url = url
        self.firm = firm
        self._clock = clock or _utc_now
        self._tz = ZoneInfo(tz)
        if engine is not None:  # shared with another store of the same database: tables exist
            self.engine = engine
            return
        self.engine = _make_engine(url)
        try:
            metadata.create_all(self.engine, checkfirst=True)
        except SQLAlchemyError as e:
            raise ConfigError(f"the review database cannot be opened ({_short(e)})", file=_safe_url(url)) from None

    def for_firm(self, firm: str, *, tz: str | None = None) -> ReviewStore:
        """The same database, scoped to another firm (shares the connection pool)."""
        return ReviewStore(self.url, firm=firm, clock=self._clock, tz=tz or self._tz.key, engine=self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ reading

    def get(self, item_id: str, *, kind: Kind = "entry") -> Decision:
        """The item's decision; a pending one at version 0 when nobody has touched it."""
        return self._get(item_id) or Decision(item_id=item_id, kind=kind)

    def decisions(self, *, kind: Kind | None = None, matter_id: str | None = None) -> dict[str, Decision]:
        q = select(decisions).where(decisions.c.firm == self.firm)
        if kind:
            q = q.where(decisions.c.kind == kind)
        if matter_id is not None:
            q = q.where(decisions.c.matter_id == matter_id)
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(decisions.c.item_id)).mappings().all()
        return {r["item_id"]: _decision(r) for r in rows}

    def history(self, item_id: str | None = None) -> list[AuditRecord]:
        """The audit trail, oldest first (of one item, or of the whole firm)."""
        q = select(audit).where(audit.c.firm == self.firm)
        if item_id is not None:
            q = q.where(audit.c.item_id == item_id)
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(audit.c.audit_id)).mappings().all()
        return [AuditRecord(
            audit_id=r["audit_id"], item_id=r["item_id"], kind=r["kind"], action=r["action"], who=r["who"],
            at=_aware(r["at"]), before=r["before"], after=r["after"], reason=r["reason"], version=r["version"],
        ) for r in rows]

    # ------------------------------------------------------------------ actions

    def approve(self, item_id: str, *, who: str, version: int, values: dict[str, Any] | None = None,
                matter_id: str = "", kind: Kind = "entry", now: dt.datetime | None = None) -> Decision:
        """Approve the item as it stands (`values`: its fields when it has no decision yet)."""
        return self._save(item_id, kind, "approve", who=who, version=version, now=now, status="approved",
                          values=values, matter_id=matter_id)

    def reject(self, item_id: str, reason: str, *, who: str, version: int, values: dict[str, Any] | None = None,
               matter_id: str = "", kind: Kind = "entry", now: dt.datetime | None = None) -> Decision:
        reason = " ".join((reason or "").split())
        if not reason:
            raise ConfigError(f"say why {kind} {item_id} is rejected")
        return self._save(item_id, kind, "reject", who=who, version=version, now=now, status="rejected",
                          values=values, matter_id=matter_id, reason=reason)

    def edit(self, item_id: str, changes: dict[str, Any], *, who: str, version: int,
             values: dict[str, Any] | None = None, matter_id: str = "", kind: Kind = "entry",
             now: dt.datetime | None = None) -> Decision:
        """Change some fields; `values` are the item's fields before any decision (the analysis' copy)."""
        if not changes:
            raise ConfigError(f"nothing to change on {kind} {item_id}")
        return self._save(item_id, kind, "edit", who=who, version=version, now=now, status="edited",
                          values=values, changes=changes, matter_id=changes.get("matter_id") or matter_id)

    def assign_matter(self, activity_id: str, matter_id: str, *, who: str, version: int,
                      values: dict[str, Any] | None = None, now: dt.datetime | None = None) -> Decision:
        if not matter_id:
            raise ConfigError(f"choose a matter for activity {activity_id}")
        return self._save(activity_id, "activity", "assign_matter", who=who, version=version, now=now,
                          status="assigned", values=values, changes={"matter_id": matter_id}, matter_id=matter_id)

    def accept_draft(self, draft: Draft, *, who: str, version: int, changes: dict[str, Any] | None = None,
                     now: dt.datetime | None = None) -> Decision:
        """Turn a draft into an entry: the draft is marked accepted and a new pending entry holds its values.

        Returns the new entry's decision. Both writes happen in one transaction.
        """
        now = self._now(now)
        draft_values = draft.model_dump(mode="json")
        entry_id = entry_id_for_draft(draft.draft_id)
        entry_values = {
            "entry_id": entry_id, "date": draft_values["date"], "timekeeper_id": draft.timekeeper_id,
            "matter_id": draft.matter_id, "hours": draft_values["hours"], "narrative": draft.narrative,
            "task_code": draft.task_code, "activity_code": draft.activity_code, "rate": None,
            "source_ref": f"draft:{draft.draft_id}",
        }
        entry_values.update(changes or {})
        try:
            with self.engine.begin() as conn:
                self._write(conn, draft.draft_id, "draft", "accept_draft", who=who, version=version, now=now,
                            status="accepted", values=draft_values, changes=None, matter_id=draft.matter_id,
                            reason=f"became entry {entry_id}")
                return self._write(conn, entry_id, "entry", "create_from_draft", who=who, version=0, now=now,
                                   status="pending", values=entry_values, changes=None,
                                   matter_id=entry_values["matter_id"], reason=f"from draft {draft.draft_id}")
        except IntegrityError:
            raise self._conflict("draft", draft.draft_id, self._get(draft.draft_id)) from None

    # ------------------------------------------------------------------ internals

    def _now(self, now: dt.datetime | None) -> dt.datetime:
        now = now or self._clock()
        if now.tzinfo is None:
            raise ValueError("decision times must be zone-aware")
        return now.astimezone(dt.timezone.utc)

    def _save(self, item_id: str, kind: Kind, action: str, *, who: str, version: int, now: dt.datetime | None,
              status: Status, values: dict[str, Any] | None, matter_id: str, changes: dict[str, Any] | None = None,
              reason: str = "") -> Decision:
        now = self._now(now)
        try:
            with self.engine.begin() as conn:
                return self._write(conn, item_id, kind, action, who=who, version=version, now=now, status=status,
                                   values=values, changes=changes, matter_id=matter_id, reason=reason)
        except IntegrityError:
            raise self._conflict(kind, item_id, self._get(item_id)) from None

    def _write(self, conn, item_id: str, kind: Kind, action: str, *, who: str, version: int, now: dt.datetime,
               status: Status, values: dict[str, Any] | None, changes: dict[str, Any] | None, matter_id: str,
               reason: str) -> Decision:
        who = " ".join((who or "").split())
        if not who:
            raise ConfigError("enter your name as reviewer before changing anything")
        key = and_(decisions.c.firm == self.firm, decisions.c.item_id == item_id)
        current = self._read(conn, item_id)
        if (current.version if current else 0) != version:
            raise self._conflict(kind, item_id, current)
        before = dict(current.values) if current else dict(values or {})
        after = {**before, **(changes or {})}
        matter_id = matter_id or after.get("matter_id", "") or (current.matter_id if current else "")
        record = {"kind": kind, "matter_id": matter_id, "status": status, "item_values": after, "reason": reason,
                  "version": version + 1, "updated_by": who, "updated_at": now}
        if current is None:
            # A concurrent first save makes this INSERT fail; the caller turns that into a conflict.
            conn.execute(insert(decisions).values(firm=self.firm, item_id=item_id, **record))
        else:
            done = conn.execute(update(decisions).where(and_(key, decisions.c.version == version)).values(**record))
            if done.rowcount != 1:
                raise self._conflict(kind, item_id, self._read(conn, item_id))
        audit_before = {"status": current.status if current else "pending", "values": before}
        conn.execute(insert(audit).values(
            firm=self.firm, item_id=item_id, kind=kind, action=action, who=who, at=now, before=audit_before,
            after={"status": status, "values": after}, reason=reason, version=version + 1))
        return Decision(item_id=item_id, kind=kind, matter_id=matter_id, status=status, values=after, reason=reason,
                        version=version + 1, updated_by=who, updated_at=now)

    def _read(self, conn, item_id: str) -> Decision | None:
        row = conn.execute(select(decisions).where(
            and_(decisions.c.firm == self.firm, decisions.c.item_id == item_id))).mappings().first()
        return _decision(row) if row else None

    def _get(self, item_id: str) -> Decision | None:
        with self.engine.connect() as conn:
            return self._read(conn, item_id)

    def _conflict(self, kind: str, item_id: str, current: Decision | None) -> ConflictError:
        if current is None or current.updated_at is None:
            return ConflictError(f"{kind} {item_id} changed since you loaded it; reload and try again",
                                 item_id=item_id)
        at = current.updated_at.astimezone(self._tz)
        when = f"{at:%H:%M} {at.tzname()}"
        return ConflictError(
            f"{kind} {item_id} was changed by {current.updated_by} at {when}; reload and try again",
            item_id=item_id, by=current.updated_by, at=current.updated_at)


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///") and url not in ("sqlite:///", "sqlite:///:memory:"):
        path = Path(url.removeprefix("sqlite:///"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(f"cannot create the folder for the review database ({e.strerror})",
                              file=str(path.parent)) from None
    try:
        if url.startswith("sqlite"):
            # Wait for a writer instead of failing at once when two sessions save together; WAL lets
            # readers go on while one reviewer writes.
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return create_engine(url, pool_pre_ping=True)
    except (SQLAlchemyError, ImportError, ValueError) as e:
        raise ConfigError(f"TENTHS_DB is not a usable database URL ({_short(e)})") from None


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _decision(row) -> Decision:
    return Decision(item_id=row["item_id"], kind=row["kind"], matter_id=row["matter_id"], status=row["status"],
                    values=row["item_values"] or {}, reason=row["reason"] or "", version=row["version"],
                    updated_by=row["updated_by"], updated_at=_aware(row["updated_at"]))


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands datetimes back naive; they were stored in UTC."""
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}@{host}"
    return url


def _short(e: Exception) -> str:
    text = str(getattr(e, "orig", None) or e).strip().splitlines()
    return text[0][:200] if text else type(e).__name__
