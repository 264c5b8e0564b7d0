"""The review store on SQLite and (when TENTHS_TEST_PG is set) a real PostgreSQL server."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from decimal import Decimal

import pytest

from assistant.errors import ConfigError, TenthsError
from assistant.models import Draft
from assistant.store import ConflictError, ReviewStore, entry_id_for_draft

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 11, 3, 10, 42, tzinfo=UTC)
PG_URL = os.environ.get("TENTHS_TEST_PG", "")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'review.db'}"
    if not PG_URL:
        pytest.skip("TENTHS_TEST_PG is not set (.ci/run starts a PostgreSQL server and sets it)")
    return PG_URL


@pytest.fixture
def firm_key():
    """A firm key of its own per test, so tests sharing one PostgreSQL database never see each other's rows."""
    return f"F{uuid.uuid4().hex[:10]}"


def make_store(url, firm, minute=0, **kw):
    return ReviewStore(url, firm=firm, clock=lambda: T0 + dt.timedelta(minutes=minute), **kw)


ENTRY = {"entry_id": "E12", "date": "2026-10-05", "timekeeper_id": "TK1", "matter_id": "M1", "hours": "1.5",
         "narrative": "Draft motion to compel", "task_code": "L250", "activity_code": "A103"}


def test_approve_persists_across_restart(db_url, firm_key):
    store = make_store(db_url, firm_key)
    assert store.get("E12").version == 0 and store.get("E12").status == "pending"
    d = store.approve("E12", who="Maria", version=0, values=ENTRY)
    assert (d.status, d.version, d.matter_id, d.updated_by) == ("approved", 1, "M1", "Maria")
    store.close()

    again = ReviewStore(db_url, firm=firm_key)
    d2 = again.get("E12")
    assert (d2.status, d2.version, d2.values["hours"], d2.updated_by) == ("approved", 1, "1.5", "Maria")
    assert d2.updated_at == T0
    assert list(again.decisions(matter_id="M1")) == ["E12"]
    again.close()


def test_stale_version_is_refused_with_who_and_when(db_url, firm_key):
    maria, john = make_store(db_url, firm_key, 0), make_store(db_url, firm_key, 5)
    seen_by_john = john.get("E12")
    maria.edit("E12", {"hours": "1.0"}, who="Maria", version=0, values=ENTRY)
    with pytest.raises(ConflictError) as e:
        john.edit("E12", {"narrative": "Revise motion"}, who="John", version=seen_by_john.version, values=ENTRY)
    assert str(e.value) == "entry E12 was changed by Maria at 10:42 UTC; reload and try again"
    assert isinstance(e.value, TenthsError) and e.value.by == "Maria"
    # Nothing of John's was written; reloading and retrying keeps Maria's change.
    current = john.get("E12")
    assert current.values["narrative"] == "Draft motion to compel" and current.values["hours"] == "1.0"
    retried = john.edit("E12", {"narrative": "Revise motion"}, who="John", version=current.version)
    assert retried.version == 2 and retried.values["hours"] == "1.0" and retried.values["narrative"] == "Revise motion"
    assert [a.who for a in john.history("E12")] == ["Maria", "John"]


def test_conflict_time_in_the_firms_zone(db_url, firm_key):
    make_store(db_url, firm_key).approve("E12", who="Maria", version=0, values=ENTRY)
    ny = make_store(db_url, firm_key, tz="America/New_York")
    with pytest.raises(ConflictError, match=r"changed by Maria at 05:42 EST"):
        ny.reject("E12", "vague", who="John", version=0)


def test_simultaneous_first_saves_lose_nothing(db_url, firm_key):
    """Both reviewers read 'never saved'; the second INSERT collides and becomes a conflict."""
    maria = make_store(db_url, firm_key)

    class Racing(ReviewStore):
        raced = False

        def _read(self, conn, item_id):
            found = super()._read(conn, item_id)
            if not self.raced:
                self.raced = True
                maria.approve(item_id, who="Maria", version=0, values=ENTRY)
            return found

    john = Racing(db_url, firm=firm_key, clock=lambda: T0)
    with pytest.raises(ConflictError, match="changed by Maria"):
        john.reject("E12", "duplicate", who="John", version=0, values=ENTRY)
    assert maria.get("E12").status == "approved"
    assert [a.action for a in maria.history("E12")] == ["approve"]


def test_audit_trail_is_append_only_with_before_and_after(db_url, firm_key):
    store = make_store(db_url, firm_key)
    store.edit("E12", {"hours": "1.0"}, who="Maria", version=0, values=ENTRY)
    store.reject("E12", "  duplicate of   E11 ", who="John", version=1, now=T0 + dt.timedelta(hours=1))
    store.approve("E12", who="Maria", version=2, now=T0 + dt.timedelta(hours=2))
    trail = store.history("E12")
    assert [(a.action, a.who, a.version) for a in trail] == [("edit", "Maria", 1), ("reject", "John", 2),
                                                             ("approve", "Maria", 3)]
    assert trail[0].before == {"status": "pending", "values": ENTRY}
    assert trail[0].after["values"]["hours"] == "1.0" and trail[0].after["status"] == "edited"
    assert trail[1].reason == "duplicate of E11" and trail[1].before["status"] == "edited"
    assert trail[1].at == T0 + dt.timedelta(hours=1)
    assert store.get("E12").reason == ""


def test_accept_draft_makes_a_pending_entry_once(db_url, firm_key):
    store = make_store(db_url, firm_key)
    draft = Draft(draft_id="D7", date=dt.date(2026, 10, 6), timekeeper_id="TK1", matter_id="M1",
                  hours=Decimal("0.4"), narrative="Telephone conference with J. Smith", task_code="L120",
                  activity_code="A106", evidence=["Aabc"], confidence=0.8)
    entry = store.accept_draft(draft, who="Maria", version=0, changes={"hours": "0.5"})
    assert entry.item_id == entry_id_for_draft("D7") and entry.kind == "entry" and entry.status == "pending"
    assert entry.values["hours"] == "0.5" and entry.values["date"] == "2026-10-06"
    assert store.get("D7").status == "accepted"
    with pytest.raises(ConflictError, match="draft D7 was changed by Maria"):
        store.accept_draft(draft, who="John", version=0)
    assert set(store.decisions(kind="entry")) == {entry.item_id}


def test_assign_matter(db_url, firm_key):
    store = make_store(db_url, firm_key)
    d = store.assign_matter("Aabc", "M2", who="Maria", version=0, values={"title": "Call with J. Smith"})
    assert (d.kind, d.status, d.matter_id, d.values["matter_id"]) == ("activity", "assigned", "M2", "M2")
    assert store.decisions(kind="activity")["Aabc"].matter_id == "M2"


def test_firms_do_not_share_decisions(db_url, firm_key):
    store = make_store(db_url, firm_key)
    store.approve("E12", who="Maria", version=0, values=ENTRY)
    other = store.for_firm(firm_key + "x")
    assert other.get("E12").version == 0 and other.decisions() == {}


@pytest.mark.parametrize("call, message", [
    (lambda s: s.approve("E1", who="  ", version=0), "enter your name"),
    (lambda s: s.reject("E1", " ", who="Maria", version=0), "say why entry E1 is rejected"),
    (lambda s: s.edit("E1", {}, who="Maria", version=0), "nothing to change"),
    (lambda s: s.assign_matter("A1", "", who="Maria", version=0), "choose a matter"),
])
def test_refusals_are_config_errors(tmp_path, call, message):
    store = ReviewStore(f"sqlite:///{tmp_path / 'r.db'}")
    with pytest.raises(ConfigError, match=message):
        call(store)
    assert store.history() == []


def test_naive_time_is_refused(tmp_path):
    store = ReviewStore(f"sqlite:///{tmp_path / 'r.db'}")
    with pytest.raises(ValueError, match="zone-aware"):
        store.approve("E1", who="Maria", version=0, now=dt.datetime(2026, 1, 1))


def test_unusable_url_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="TENTHS_DB is not a usable database URL"):
        ReviewStore("nosuchdb://x")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError):
        ReviewStore(f"sqlite:///{blocker / 'sub' / 'r.db'}")


def test_password_never_in_messages():
    with pytest.raises(ConfigError) as e:
        ReviewStore("postgresql+psycopg://bob:s3cret@127.0.0.1:1/none")
    assert "s3cret" not in str(e.value)


def test_default_url_is_tenths_db(tmp_path, monkeypatch):
    monkeypatch.setenv("TENTHS_DB", f"sqlite:///{tmp_path / 'sub' / 'default.db'}")
    store = ReviewStore(firm="F")
    store.approve("E1", who="Maria", version=0)
    assert (tmp_path / "sub" / "default.db").is_file() and store.url.endswith("default.db")
