"""Uploads are hostile: archives and files land in the workspace, checked, or are refused in one sentence."""

from __future__ import annotations

import datetime as dt
import io
import stat
import zipfile

import pytest

from assistant.errors import ConfigError, IngestError
from assistant.uploads import (
    Limits, extract_zip, folder_digest, guess_period, new_workspace, place_files, prepare_upload,
)

FIRM = {
    "firm.toml": b'name = "Acme LLP"\nlaw_firm_id = "12-3456789"\ntimezone = "America/New_York"\ncurrency = "USD"\n',
    "timekeepers.csv": b"timekeeper_id,name,classification,rate,email\nTK1,Ann Lee,PT,500,ann@acme.law\n",
    "clients.csv": b"client_id,name,ledes_client_id,billing_email\nC1,Globex,GLX,ap@globex.com\n",
    "matters.csv": b"matter_id,client_id,name,status,billing_type,code_set\nM1,C1,Globex v. Initech,open,hourly,litigation\n",
}


def make_zip(members: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED, infos=()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
        for info, data in infos:
            z.writestr(info, data)
    return buf.getvalue()


def firm_members(prefix="") -> dict[str, bytes]:
    files = {prefix + k: v for k, v in FIRM.items()}
    files[prefix + "calendar/TK1.ics"] = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    files[prefix + "time_entries.csv"] = b"entry_id,date,timekeeper_id,matter_id,hours,narrative\nE1,2026-10-05,TK1,M1,1.0,Draft\n"
    return files


def test_zip_with_a_top_level_folder(tmp_path):
    data = make_zip({**firm_members("acme/"), "__MACOSX/acme/._firm.toml": b"x", "acme/.DS_Store": b"x",
                     "acme/mail/": b""})
    result = extract_zip(data, tmp_path / "w", name="acme.zip")
    assert result.root == str(tmp_path / "w" / "acme")
    assert result.files == sorted(["calendar/TK1.ics", "clients.csv", "firm.toml", "matters.csv", "time_entries.csv",
                                   "timekeepers.csv"])
    assert not (tmp_path / "w" / "__MACOSX").exists()


def test_zip_at_top_level(tmp_path):
    result = extract_zip(make_zip(firm_members()), tmp_path / "w")
    assert result.root == str(tmp_path / "w") and "firm.toml" in result.files


@pytest.mark.parametrize("member, message", [
    ("../evil.txt", r"points outside the archive"),
    ("acme/../../evil.txt", r"points outside the archive"),
    ("..\\evil.txt", r"points outside the archive"),
    ("/etc/evil.txt", r"absolute path"),
    ("C:\\Windows\\evil.txt", r"absolute path"),
])
def test_path_traversal_is_refused_before_anything_is_written(tmp_path, member, message):
    data = make_zip({**firm_members(), member: b"pwned"})
    with pytest.raises(IngestError, match=message):
        extract_zip(data, tmp_path / "w" / "firm", name="up.zip")
    assert not (tmp_path / "w" / "firm").exists()
    assert not list(tmp_path.rglob("evil.txt"))


def test_symlink_member_is_refused(tmp_path):
    link = zipfile.ZipInfo("calendar/TK1.ics")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    data = make_zip(FIRM, infos=[(link, b"/etc/passwd")])
    with pytest.raises(IngestError, match="symbolic link"):
        extract_zip(data, tmp_path / "w")


def test_special_files_and_duplicates_are_refused(tmp_path):
    fifo = zipfile.ZipInfo("calls/x.csv")
    fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
    with pytest.raises(IngestError, match="not a regular file"):
        extract_zip(make_zip(FIRM, infos=[(fifo, b"")]), tmp_path / "a")
    dup = zipfile.ZipInfo("FIRM.toml")
    with pytest.raises(IngestError, match="appears twice"):
        extract_zip(make_zip(FIRM, infos=[(dup, b"x")]), tmp_path / "b")


def test_encrypted_member_is_refused(tmp_path):
    data = bytearray(make_zip({"firm.toml": FIRM["firm.toml"]}, compression=zipfile.ZIP_STORED))
    # Set the "encrypted" bit in the central directory entry (general purpose flag, offset 8).
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 8] |= 0x1
    with pytest.raises(IngestError, match="encrypted"):
        extract_zip(bytes(data), tmp_path / "w")


def test_zip_bomb_by_ratio(tmp_path):
    data = make_zip({**FIRM, "mail/huge.mbox": b"\0" * (8 * 1024 * 1024)})
    assert len(data) < 100_000
    with pytest.raises(IngestError, match="looks like a zip bomb"):
        extract_zip(data, tmp_path / "w", name="bomb.zip")
    assert not (tmp_path / "w").exists()


def test_zip_bomb_by_total_size_and_member_count(tmp_path):
    members = {**FIRM, **{f"mail/{i}.eml": bytes(range(256)) * 40 for i in range(10)}}
    with pytest.raises(IngestError, match="unpacks to more than"):
        extract_zip(make_zip(members), tmp_path / "a", limits=Limits(max_total_bytes=50_000))
    with pytest.raises(IngestError, match="holds 14 files; the limit is 5"):
        extract_zip(make_zip(members), tmp_path / "b", limits=Limits(max_members=5))
    with pytest.raises(IngestError, match="unpacks to 10240 bytes; the limit per file is 8000 bytes"):
        extract_zip(make_zip(members), tmp_path / "c", limits=Limits(max_file_bytes=8000, max_total_bytes=10**9))


def test_member_inflating_past_its_declared_size(tmp_path):
    data = bytearray(make_zip({**FIRM, "mail/a.eml": b"x" * 5000}, compression=zipfile.ZIP_STORED))
    # Lie in the central directory: declare 100 bytes uncompressed for a.eml.
    cd = data.find(b"PK\x01\x02")
    while cd != -1:
        name_len = int.from_bytes(data[cd + 28:cd + 30], "little")
        if data[cd + 46:cd + 46 + name_len] == b"mail/a.eml":
            data[cd + 24:cd + 28] = (100).to_bytes(4, "little")
        cd = data.find(b"PK\x01\x02", cd + 4)
    with pytest.raises(IngestError, match="zip bomb|could not be unpacked"):
        extract_zip(bytes(data), tmp_path / "w", name="liar.zip")
    assert not (tmp_path / "w").exists()


def test_not_a_zip_and_no_firm(tmp_path):
    with pytest.raises(IngestError, match="not a readable .zip archive"):
        extract_zip(b"PK\x03\x04garbage", tmp_path / "a", name="x.zip")
    with pytest.raises(ConfigError, match="has no firm.toml"):
        extract_zip(make_zip({"notes.txt": b"hello"}), tmp_path / "b", name="x.zip")
    with pytest.raises(ConfigError, match="holds 2 firm folders"):
        extract_zip(make_zip({**firm_members("a/"), **firm_members("b/")}), tmp_path / "c", name="x.zip")
    with pytest.raises(IngestError, match="the limit is 10 bytes"):
        extract_zip(make_zip(FIRM), tmp_path / "d", limits=Limits(max_file_bytes=10))


def test_individual_files_are_sorted_into_the_firm_layout(tmp_path):
    base = tmp_path / "base"
    (base / "guidelines").mkdir(parents=True)
    for name, data in FIRM.items():
        (base / name).write_bytes(data)
    (base / "guidelines" / "globex.toml").write_bytes(b"max_hours_per_entry = 8\n")
    uploads = [
        ("../../TK1.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"),
        ("C:\\Users\\ann\\Ann.mbox", b"From x\n"),
        ("note.eml", b"Subject: hi\n\nbody\n"),
        ("october_calls.csv", b"\xef\xbb\xbfcall_id,start,end,direction,timekeeper_phone,other_number\n"),
        ("docs.csv", b"timestamp,timekeeper_id,document,action,minutes\n"),
        ("export.csv", b"entry_id,date,timekeeper_id,matter_id,hours,narrative\n"),
        ("random.csv", b"a,b\n1,2\n"),
        ("photo.exe", b"MZ"),
    ]
    result = place_files(uploads, tmp_path / "w" / "firm", base_firm=base)
    root = tmp_path / "w" / "firm"
    assert result.root == str(root)
    assert result.files == sorted([
        "calendar/TK1.ics", "mail/Ann.mbox", "mail/note.eml", "calls/october_calls.csv", "documents/docs.csv",
        "time_entries.csv", "firm.toml", "timekeepers.csv", "clients.csv", "matters.csv", "guidelines/globex.toml",
    ])
    assert any("random.csv was skipped" in n for n in result.notes)
    assert any("photo.exe was skipped" in n for n in result.notes)
    assert any("taken from the current firm" in n for n in result.notes)
    assert not (tmp_path / "TK1.ics").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["base", "w"]


def test_individual_files_refusals(tmp_path):
    with pytest.raises(ConfigError, match="no firm.toml"):
        place_files([("a.ics", b"x")], tmp_path / "a")
    with pytest.raises(IngestError, match="the limit is"):
        place_files([("a.ics", b"x" * 20)], tmp_path / "b", limits=Limits(max_file_bytes=10))
    with pytest.raises(IngestError, match="over"):
        place_files([("a.ics", b"x" * 8), ("b.ics", b"x" * 8)], tmp_path / "c",
                    limits=Limits(max_file_bytes=10, max_total_bytes=12))
    with pytest.raises(IngestError, match="already is"):
        place_files([("x/a.ics", b"x"), ("y/a.ics", b"x")], tmp_path / "d")
    with pytest.raises(IngestError, match="not an acceptable file name"):
        place_files([(".bashrc", b"x")], tmp_path / "e")


def test_prepare_upload_dispatch(tmp_path):
    ws = new_workspace()
    try:
        result = prepare_upload([("firm.zip", make_zip(firm_members("acme/")))], ws)
        assert result.root.endswith("acme")
    finally:
        import shutil
        shutil.rmtree(ws)
    with pytest.raises(IngestError, match="not both"):
        prepare_upload([("firm.zip", b"PK"), ("a.ics", b"x")], tmp_path)
    with pytest.raises(ConfigError, match="choose"):
        prepare_upload([], tmp_path)


def test_folder_digest_and_period(tmp_path):
    extract_zip(make_zip(firm_members()), tmp_path / "f")
    d1 = folder_digest(tmp_path / "f")
    assert d1 == folder_digest(tmp_path / "f")
    (tmp_path / "f" / "calendar" / "TK1.ics").write_bytes(b"changed")
    assert folder_digest(tmp_path / "f") != d1
    period = guess_period(tmp_path / "f", today=dt.date(2026, 11, 24))
    assert (period.start, period.end) == (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    (tmp_path / "f" / "time_entries.csv").unlink()
    period = guess_period(tmp_path / "f", today=dt.date(2026, 3, 5))
    assert (period.start, period.end) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
