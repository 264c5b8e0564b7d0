# ---------------------------------------------------------------- helper H: app, store, uploads (begin)
import pytest as _h_pytest

H_TINY_FIRM = {
    "firm.toml": 'name = "Hale & Ortiz LLP"\nlaw_firm_id = "12-3456789"\ntimezone = "America/New_York"\n'
                 'currency = "USD"\nincrement_minutes = 6\n',
    "timekeepers.csv": "timekeeper_id,name,classification,rate,email,phone\n"
                       "MO,Maria Ortiz,PT,450,mortiz@haleortiz.com,212-555-0101\n"
                       "JC,James Chen,AS,300,jchen@haleortiz.com,212-555-0102\n",
    "clients.csv": "client_id,name,ledes_client_id,billing_email,domains,guidelines\n"
                   "ACME,Acme Corp.,ACME01,ap@acme.com,acme.com,acme.toml\n"
                   "GLOBX,Globex Inc.,GLX,ap@globex.com,globex.com,\n",
    "matters.csv": "matter_id,client_id,name,status,billing_type,code_set,client_matter_id,lead_timekeeper_id,references\n"
                   "M-100,ACME,Acme v. Beta Industries,open,hourly,litigation,AC-1,MO,2026-0100;Acme v. Beta\n"
                   "M-200,GLOBX,Globex bankruptcy,open,hourly,bankruptcy,,MO,2026-0200\n"
                   "M-201,GLOBX,Globex lease dispute,open,hourly,litigation,,JC,2026-0201\n",
    "contacts.csv": "client_id,name,email,phone,matter_id\n"
                    "ACME,Mark Ostrander,mostrander@acme.com,646-555-0199,M-100\n"
                    "GLOBX,Dana Lee,dlee@globex.com,646-555-0123,\n",
    "guidelines/acme.toml": "max_hours_per_entry = 8\nmin_narrative_words = 3\n",
    "calendar/MO.ics": "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//tests//EN",
        "BEGIN:VEVENT", "UID:ev1@test", "DTSTAMP:20261001T000000Z",
        "DTSTART;TZID=America/New_York:20261005T100000", "DTEND;TZID=America/New_York:20261005T113000",
        "SUMMARY:Acme v. Beta - deposition prep with Mark Ostrander",
        "ORGANIZER:mailto:mortiz@haleortiz.com", "ATTENDEE:mailto:mostrander@acme.com", "END:VEVENT",
        "BEGIN:VEVENT", "UID:ev2@test", "DTSTAMP:20261001T000000Z",
        "DTSTART;TZID=America/New_York:20261006T140000", "DTEND;TZID=America/New_York:20261006T150000",
        "SUMMARY:Globex call with Dana Lee", "ORGANIZER:mailto:mortiz@haleortiz.com",
        "ATTENDEE:mailto:dlee@globex.com", "END:VEVENT",
        "END:VCALENDAR", ""]),
    "calls/october.csv": "call_id,start,end,direction,timekeeper_phone,other_number\n"
                         "c1,2026-10-07T09:00:00-04:00,2026-10-07T09:20:00-04:00,outbound,212-555-0101,646-555-0199\n",
    "documents/october.csv": "timestamp,timekeeper_id,document,action,minutes,matter_id\n"
                             "2026-10-08T17:00:00-04:00,JC,Lease dispute memo.docx,edited,48,M-201\n",
    "time_entries.csv": "entry_id,date,timekeeper_id,matter_id,hours,narrative,task_code,activity_code\n"
                        "E1,2026-10-05,MO,M-100,0.5,Prepare for deposition of Beta's CFO with client,L330,A101\n"
                        "E2,2026-10-07,MO,M-100,0.3,Telephone conference with M. Ostrander regarding deposition,L330,A106\n"
                        "E3,2026-10-09,JC,M-100,2.0,Review documents,L310,A104\n",
    "expenses.csv": "expense_id,date,timekeeper_id,matter_id,amount,description,expense_code\n",
}


@_h_pytest.fixture
def tiny_firm(tmp_path):
    """A small firm folder on disk: two timekeepers, three matters, a month's calendar, calls, documents, entries."""
    root = tmp_path / "tiny_firm"
    for rel, text in H_TINY_FIRM.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@_h_pytest.fixture(scope="session")
def tiny_firm_shared(tmp_path_factory):
    """The same tiny firm, written once per test session (for tests that only read it)."""
    root = tmp_path_factory.mktemp("shared") / "tiny_firm"
    for rel, text in H_TINY_FIRM.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@_h_pytest.fixture
def review_db(tmp_path, monkeypatch):
    """TENTHS_DB pointing at a fresh SQLite file."""
    url = f"sqlite:///{tmp_path / 'review.db'}"
    monkeypatch.setenv("TENTHS_DB", url)
    return url
# ---------------------------------------------------------------- helper H (end)


# ---------------------------------------------------------------- engines (helper G) — begin
# No test may reach a model server off this machine: TENTHS_ALLOW_MODEL_REQUESTS=loopback makes the
# OpenAI engine refuse any base URL (and any request) that is not on 127.0.0.0/8 or ::1, and the
# developer's own model settings are removed so every test starts on the offline engine.
import os as _os

import pytest as _pytest

_os.environ["TENTHS_ALLOW_MODEL_REQUESTS"] = "loopback"
_MODEL_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "TENTHS_ENGINE",
              "TENTHS_MODEL", "TENTHS_LOCAL_MODEL", "TENTHS_LLM_MODE", "TENTHS_LLM_TIMEOUT", "TENTHS_LLM_BATCH")


@_pytest.fixture(autouse=True)
def _no_remote_models(monkeypatch):
    monkeypatch.setenv("TENTHS_ALLOW_MODEL_REQUESTS", "loopback")
    for name in _MODEL_ENV:
        monkeypatch.delenv(name, raising=False)


@_pytest.fixture
def llm_server():
    """A scripted OpenAI-compatible server on 127.0.0.1 (see tests/llm_server.py)."""
    from llm_server import LLMServer

    server = LLMServer().start()
    try:
        yield server
    finally:
        server.stop()
# ---------------------------------------------------------------- engines (helper G) — end


# ---------------------------------------------------------------- LEDES export tests (begin)
@_h_pytest.fixture
def flags(monkeypatch):
    """Script the validator's flags (entry_id -> flags) so an export test exercises the export only."""
    import sys
    import types

    found: dict = {}

    def check_entries(entries, firm, *, expenses=()):
        return {e.entry_id: list(found.get(e.entry_id, [])) for e in entries}

    module = types.ModuleType("assistant.validate")
    module.check_entries = check_entries
    module.has_errors = lambda fl: any(f.severity == "error" for f in fl)
    monkeypatch.setitem(sys.modules, "assistant.validate", module)
    return found
# ---------------------------------------------------------------- LEDES export tests (end)
