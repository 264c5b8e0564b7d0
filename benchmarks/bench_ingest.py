"""Email ingestion benchmark: the naive `email.policy.default` parse against Tenths' fast path.

    python benchmarks/bench_ingest.py                      # ~41k messages in 30 mboxes, generated
    python benchmarks/bench_ingest.py --messages 5000      # smaller
    python benchmarks/bench_ingest.py --dir FIRM --from 2026-10-01 --to 2026-10-31   # a firm folder's mail/
    python benchmarks/bench_ingest.py --json               # machine-readable
    python benchmarks/bench_ingest.py --skip-naive --skip-reference --repeat 5   # the fast path only

Not a test: it prints wall and CPU seconds, messages per second and peak memory. Each measurement
runs in a fresh process (so its peak memory is its own); CPU seconds (the process and its workers)
are the figure to compare on a busy machine, where wall time depends on the neighbours. The generator below is
self-contained (it does not use `tenths demo`) so the benchmark measures only the parser.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import email
import email.policy
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.ingest.mail import parse_mail_files, split_mbox  # noqa: E402
from assistant.models import Client, Firm, FirmData, Period, Timekeeper  # noqa: E402

FIRM_DOMAIN = "hartwell-law.com"
WORDS = (
    "agreement draft counsel review the a of to and please attached schedule deposition motion discovery "
    "closing we will call regarding our client comments revised filing court hearing response deadline "
    "thanks see below let me know contract indemnity clause term sheet diligence board consent exhibit "
    "settlement offer position mediation brief support opposition estate trust lease tenant landlord"
).split()
FIRST = "Ann Ben Carla Dev Elena Farid Grace Hiro Ines Jon Kemal Lena Marco Nadia Omar Priya Quinn Rosa".split()
LAST = "Lee Patel Novak Okafor Smith Garcia Kim Rossi Dubois Haddad Chen Weber Silva Moreau Tanaka".split()
SUBJECTS = [
    "{ref} – revised draft", "Re: {ref} deposition schedule", "{ref}: comments on term sheet",
    "Re: Re: {ref} discovery responses", "Fwd: {ref} board consent", "{ref} settlement offer",
    "Call tomorrow re {ref}", "=?utf-8?q?{ref}_=E2=80=94_closing_checklist?=",
]


def build_firm(attorneys: int) -> FirmData:
    rng = random.Random(1)
    tks = []
    for i in range(attorneys):
        name = f"{FIRST[i % len(FIRST)]} {LAST[(i * 7) % len(LAST)]}"
        tks.append(Timekeeper(
            timekeeper_id=f"TK{i + 1:02d}", name=name, classification="PT" if i % 3 == 0 else "AS",
            rate=Decimal(400 + 25 * (i % 8)), email=f"tk{i + 1:02d}@{FIRM_DOMAIN}",
            timezone="America/Chicago" if i % 5 == 0 else None,
        ))
    clients = [
        Client(client_id=f"C{i:02d}", name=f"Client {i}", ledes_client_id=f"L{i:02d}",
               billing_email=f"ap@client{i}.com", domains=[f"client{i}.com"])
        for i in range(40)
    ]
    rng.shuffle(clients)
    return FirmData(root=".", firm=Firm(name="Hartwell LLP", law_firm_id="12-3456789", timezone="America/New_York"),
                    timekeepers=tks, clients=clients, matters=[], contacts=[])


def _text(rng: random.Random, words: int) -> str:
    lines, line = [], []
    for _ in range(words):
        line.append(rng.choice(WORDS))
        if len(line) >= rng.randint(9, 14):
            lines.append(" ".join(line))
            line = []
    lines.append(" ".join(line))
    return "\n".join(lines)


def _message(rng: random.Random, n: int, sender: str, to: list[str], cc: list[str], when: dt.datetime) -> bytes:
    ref = f"MAT-{rng.randint(1000, 1099)}"
    subject = rng.choice(SUBJECTS).format(ref=ref)
    body = f"Hi,\n\n{_text(rng, rng.randint(30, 380))}\n\nBest,\n-- \nHartwell LLP | 1 Main Street\n"
    if subject.startswith("Re:"):
        body += "\nOn Mon, Oct 5, 2026 at 9:14 AM someone wrote:\n" + "\n".join(
            "> " + line for line in _text(rng, rng.randint(40, 200)).splitlines())
    head = [
        f"From: {sender}", f"To: {', '.join(to)}", *([f"Cc: {', '.join(cc)}"] if cc else []),
        f"Subject: {subject}", f"Date: {email.utils.format_datetime(when)}",
        f"Message-ID: <{n}.{rng.randint(0, 10**9)}@bench.example>", "MIME-Version: 1.0",
    ]
    if subject.startswith("Re:"):
        head += [f"In-Reply-To: <root{n // 7}@bench.example>", f"References: <root{n // 7}@bench.example>"]
    kind = rng.random()
    if kind < 0.10:
        head.append("List-Unsubscribe: <mailto:unsubscribe@news.example>")
    if kind < 0.55:
        head.append('Content-Type: text/plain; charset="utf-8"')
        return ("\n".join(head) + "\n\n" + body).encode()
    if kind < 0.65:
        import quopri
        head += ['Content-Type: text/plain; charset="utf-8"', "Content-Transfer-Encoding: quoted-printable"]
        return ("\n".join(head) + "\n\n").encode() + quopri.encodestring(body.encode())
    html = "<html><body>" + "".join(f"<p>{line}</p>" for line in body.splitlines()) + "</body></html>"
    if kind < 0.72:
        head.append('Content-Type: text/html; charset="utf-8"')
        return ("\n".join(head) + "\n\n" + html).encode()
    alt = (f'--alt{n}\nContent-Type: text/plain; charset="utf-8"\n\n{body}\n'
           f'--alt{n}\nContent-Type: text/html; charset="utf-8"\n\n{html}\n--alt{n}--\n')
    if kind < 0.90:
        head.append(f'Content-Type: multipart/alternative; boundary="alt{n}"')
        return ("\n".join(head) + "\n\n" + alt).encode()
    blob = base64.encodebytes(rng.randbytes(rng.randint(4_000, 60_000))).decode()
    head.append(f'Content-Type: multipart/mixed; boundary="mix{n}"')
    mixed = (f'--mix{n}\nContent-Type: multipart/alternative; boundary="alt{n}"\n\n{alt}\n'
             f'--mix{n}\nContent-Type: application/pdf; name="draft.pdf"\nContent-Transfer-Encoding: base64\n'
             f'Content-Disposition: attachment; filename="draft.pdf"\n\n{blob}--mix{n}--\n')
    return ("\n".join(head) + "\n\n" + mixed).encode()


def generate(out: Path, firm: FirmData, messages: int, month: dt.date, seed: int = 7) -> list[Path]:
    """`messages` messages spread over one mbox per attorney; some land in two mailboxes (cc'd colleagues)."""
    rng = random.Random(seed)
    tks = [t.email for t in firm.timekeepers]
    boxes: dict[str, list[bytes]] = {a: [] for a in tks}
    written = 0
    n = 0
    while written < messages:
        n += 1
        owner = rng.choice(tks)
        client = f"{rng.choice(FIRST).lower()}@client{rng.randint(0, 39)}.com"
        day = month + dt.timedelta(days=rng.randint(-1, 31))  # a few outside the month
        when = dt.datetime.combine(day, dt.time(rng.randint(7, 20), rng.randint(0, 59)),
                                   dt.timezone(dt.timedelta(hours=-4)))
        roll = rng.random()
        cc = [rng.choice(tks)] if rng.random() < 0.15 else []
        if roll < 0.40:
            raw = _message(rng, n, owner, [client], cc, when)
        elif roll < 0.85:
            raw = _message(rng, n, client, [owner], cc, when)
        elif roll < 0.95:
            raw = _message(rng, n, owner, [rng.choice(tks)], [], when)
        else:
            raw = _message(rng, n, "no-reply@docket.example", [owner], [], when)
        for box in dict.fromkeys([owner, *cc]):
            if written >= messages:
                break
            sender = "MAILER-DAEMON" if raw.startswith(b"From: no-reply") else owner
            quoted = b"\n".join(b">" + line if line.startswith(b"From ") else line for line in raw.split(b"\n"))
            boxes[box].append(f"From {sender} {when:%a %b %d %H:%M:%S %Y}\n".encode() + quoted + b"\n\n")
            written += 1
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for address, items in boxes.items():
        path = out / f"{address.split('@')[0]}.mbox"
        path.write_bytes(b"".join(items))
        paths.append(path)
    return paths


def naive(paths: list[Path]) -> int:
    """What most code does: every message through `email.policy.default`, body as text."""
    count = 0
    for path in paths:
        data = path.read_bytes()
        for a, b in split_mbox(data):
            raw = data[a:b]
            msg = email.message_from_bytes(raw[raw.find(b"\n") + 1:], policy=email.policy.default)
            _ = (msg["from"], msg["to"], msg["cc"], msg["date"], msg["subject"], msg["message-id"])
            part = msg.get_body(("plain", "html"))
            if part is not None:
                try:
                    part.get_content()
                except (LookupError, UnicodeError):
                    pass
            count += 1
    return count


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the workers): not skewed by other load."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


def parallel_capacity(workers: int = 2, n: int = 15_000_000) -> float:
    """How many CPUs' worth of work `workers` processes get right now (2.0 on an idle 2-CPU machine)."""
    from concurrent.futures import ProcessPoolExecutor

    t0 = time.perf_counter()
    _spin(n)
    one = time.perf_counter() - t0
    with ProcessPoolExecutor(workers) as pool:
        pool.submit(_spin, 1).result()  # started before timing
        t0 = time.perf_counter()
        list(pool.map(_spin, [n] * workers))
        many = time.perf_counter() - t0
    return round(workers * one / many, 2)


VARIANTS = {
    "naive": "naive policy.default parse (no decisions)",
    "reference": "reference path (policy.default), 1 worker",
    "fast1": "fast path, 1 worker",
    "fast2": "fast path, 2 workers",
}


def _inputs(ns) -> tuple[FirmData, list[Path], list[tuple[Path, str]]]:
    if ns.dir:
        from assistant.folder import load_firm, relative, source_files
        paths = source_files(ns.dir)["mail"]
        return load_firm(ns.dir), paths, [(p, relative(ns.dir, p)) for p in paths]
    paths = sorted(ns.mail.glob("*.mbox"))
    return build_firm(ns.attorneys), paths, [(p, f"mail/{p.name}") for p in paths]


def run_variant(ns, period: Period) -> dict:
    """One measurement, in its own process so its peak memory is its own."""
    firm, paths, files = _inputs(ns)
    cpu0, t0 = _cpu(), time.perf_counter()
    if ns.run == "naive":
        value = naive(paths)
    else:
        value = parse_mail_files(files, firm, period, workers=2 if ns.run == "fast2" else 1,
                                 fast=ns.run != "reference")
    row = {"seconds": round(time.perf_counter() - t0, 2), "cpu_seconds": round(_cpu() - cpu0, 2)}
    if not isinstance(value, int):
        c = value.counts
        row.update(read=c.read, activities=c.activities, ignored=c.ignored, rejected=c.rejected,
                   activity_rows=len(value.activities))
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    row["peak_mib"] = round(own, 1)
    if kids:
        row["peak_worker_mib"] = round(kids, 1)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=41_000)
    ap.add_argument("--attorneys", type=int, default=30)
    ap.add_argument("--dir", type=Path, help="a firm folder: benchmark its mail/ with its own timekeepers")
    ap.add_argument("--from", dest="start", default="2026-10-01")
    ap.add_argument("--to", dest="end", default="2026-10-31")
    ap.add_argument("--skip-naive", action="store_true", help="skip the naive parse (about 2 minutes at 41k)")
    ap.add_argument("--skip-reference", action="store_true", help="skip the reference path (slow too)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each fast variant; the best is reported")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--write", type=Path, help=argparse.SUPPRESS)  # child: generate into this folder
    ap.add_argument("--run", choices=list(VARIANTS), help=argparse.SUPPRESS)  # child: one measurement
    ap.add_argument("--mail", type=Path, help=argparse.SUPPRESS)  # child: the generated mail folder
    ns = ap.parse_args(argv)
    period = Period(start=dt.date.fromisoformat(ns.start), end=dt.date.fromisoformat(ns.end))
    if ns.write:
        generate(ns.write, build_firm(ns.attorneys), ns.messages, period.start)
        return 0
    if ns.run:
        print(json.dumps(run_variant(ns, period)))
        return 0

    common = ["--attorneys", str(ns.attorneys), "--from", ns.start, "--to", ns.end]
    tmp = None
    if ns.dir:
        paths = __import__("assistant.folder", fromlist=["source_files"]).source_files(ns.dir)["mail"]
        where = ["--dir", str(ns.dir)]
    else:
        tmp = tempfile.TemporaryDirectory(prefix="tenths-bench-")
        out = Path(tmp.name) / "mail"
        subprocess.run([sys.executable, __file__, "--write", str(out), "--messages", str(ns.messages), *common],
                       check=True)
        paths = sorted(out.glob("*.mbox"))
        where = ["--mail", str(out)]
    messages = sum(len(split_mbox(p.read_bytes())) for p in paths)
    size = sum(p.stat().st_size for p in paths)
    report: dict = {"messages": messages, "files": len(paths), "mib": round(size / 2**20, 1),
                    "cpus": os.cpu_count(), "runs": {}}
    report["parallel_capacity_before"] = parallel_capacity()
    if not ns.json:
        print(f"{messages} messages in {len(paths)} files, {size / 2**20:.0f} MiB, {os.cpu_count()} CPUs; "
              f"2 processes get {report['parallel_capacity_before']} CPUs' worth now (2.0 = idle machine)")
    for variant, label in VARIANTS.items():
        if (variant == "naive" and ns.skip_naive) or (variant == "reference" and ns.skip_reference):
            continue
        rows = []
        for _ in range(1 if variant in ("naive", "reference") else ns.repeat):
            done = subprocess.run([sys.executable, __file__, "--run", variant, *where, *common],
                                  check=True, capture_output=True, text=True)
            rows.append(json.loads(done.stdout))
        row = min(rows, key=lambda r: r["seconds"])  # the least disturbed run of a shared machine
        row["messages_per_s"] = round(messages / row["seconds"]) if row["seconds"] else None
        report["runs"][variant] = {"label": label, **row}
        if not ns.json:
            extra = " ".join(f"{k}={v}" for k, v in row.items() if k not in ("seconds", "messages_per_s"))
            print(f"{label:<44} {row['seconds']:7.2f} s {row['messages_per_s'] or 0:>7} msg/s  {extra}", flush=True)
    report["parallel_capacity_after"] = parallel_capacity()
    if ns.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"2 processes get {report['parallel_capacity_after']} CPUs' worth after the runs")
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
