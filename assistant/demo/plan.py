"""A month of work, planned: every event, email, call and document session of every timekeeper.

Times are integer minutes since the epoch (UTC) while planning, so two people in different zones
can share a meeting; each timekeeper's day is laid out on one timeline in which pieces of evidence of
different matters never overlap (only planted same-matter overlaps do: a call during a meeting, a
quick reply to a received email). Everything billable names its matter unambiguously; the planted
ambiguous and unknown items are marked for the confirm queue.
"""

from __future__ import annotations

import calendar as cal
import datetime as dt
import random
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ..ingest.mail import email_minutes
from . import text as T
from .firm import FIRM_DOMAIN, ClientSpec, Keeper, MatterSpec, Person, Roster, Topic

UTC = dt.timezone.utc
INTERNAL_EVENTS = ["Case team huddle", "Associate check-in", "Docket review", "Staffing meeting",
                   "Knowledge management session", "Pro bono committee", "Mentoring coffee"]


# --------------------------------------------------------------------------- records


@dataclass
class Meeting:
    uid: str
    summary: str
    start: int
    end: int
    organizer: Person
    attendees: list[tuple[Person, str]]
    """(person, PARTSTAT)."""
    tzid: str
    location: str = ""
    description: str = ""
    status: str = "CONFIRMED"
    all_day: dt.date | None = None
    time_form: str = "tzid"
    """tzid | utc | floating."""
    use_duration: bool = False
    # A weekly series: instance starts (epoch minutes) in the month, skipped and moved ones.
    rrule_until: int | None = None
    exdates: list[int] = field(default_factory=list)
    moved: dict[int, tuple[int, int]] = field(default_factory=dict)
    """original start → (new start, new end)."""


@dataclass
class Mail:
    msg_id: str
    sender: Person
    to: list[Person]
    cc: list[Person]
    subject: str
    date: int
    zone: str
    """The zone the Date header is written in."""
    body: str
    words: int
    attachments: list[str] = field(default_factory=list)
    html: str = ""
    """"alternative" (text and HTML parts) or "only" (HTML only)."""
    charset: str = "utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    to_alias: str = ""
    no_message_id: bool = False


@dataclass
class Call:
    start_s: int
    """Seconds since the epoch."""
    end_s: int
    direction: str
    tk_phone: str
    other: str
    tk: str
    offset_form: bool = False


@dataclass
class DocRow:
    end: int
    tk: str
    document: str
    action: str
    minutes: int
    matter_id: str


@dataclass
class Act:
    """One record as a parser will see it, with what a correct analysis must make of it."""

    kind: str
    """meeting | call | email_sent | email_received | document."""
    tk: str
    start: int
    end: int
    matter: str | None
    status: str
    """activity | confirm | ignored."""
    payload: object
    topic: Topic | None = None
    who: Person | None = None
    confirm_reason: str = ""
    candidates: tuple[str, ...] = ()
    ref: str = ""
    label: str = ""
    """What the evidence was about, for entry narratives."""


@dataclass
class Thread:
    subject: str
    who: Person
    last_id: str
    refs: list[str]
    last_text: str


@dataclass
class Plan:
    month_start: dt.date
    month_end: dt.date
    acts: list[Act]
    meetings: dict[str, list[Meeting]]
    """Per timekeeper: the events of their calendar file (a shared invitation is in several)."""
    mails: dict[str, list[Mail]]
    calls: list[Call]
    docs: list[DocRow]
    injection_refs: list[tuple[str, str]] = field(default_factory=list)


# --------------------------------------------------------------------------- planner


class Planner:
    def __init__(self, roster: Roster, month: str, rng: random.Random):
        self.r = roster
        self.rng = rng
        y, m = (int(x) for x in month.split("-"))
        self.year, self.month = y, m
        self.first = dt.date(y, m, 1)
        self.last = dt.date(y, m, cal.monthrange(y, m)[1])
        self.days = [self.first + dt.timedelta(days=i) for i in range((self.last - self.first).days + 1)]
        self.weekdays = [d for d in self.days if d.weekday() < 5]
        self.zones = {k.timekeeper_id: ZoneInfo(k.timezone) for k in roster.keepers}
        self.busy: dict[tuple[str, dt.date], list[tuple[int, int]]] = {}
        self.acts: list[Act] = []
        self.meetings: dict[str, list[Meeting]] = {k.timekeeper_id: [] for k in roster.keepers}
        self.mails: dict[str, list[Mail]] = {k.timekeeper_id: [] for k in roster.keepers}
        self.calls: list[Call] = []
        self.docs: list[DocRow] = []
        self.threads: dict[tuple[str, str], list[Thread]] = {}
        self.thread_by_last: dict[str, Thread] = {}
        self.seq = 0
        self.injection: list[tuple[str, str]] = []
        self.client_of = {m.matter_id: c for c in roster.clients for m in c.matters}
        self.open_matters = {k.timekeeper_id: [m for m in roster.matters if m.status == "open"
                                               and k.timekeeper_id in m.team] for k in roster.keepers}
        self.doc_seen: set[tuple[str, str]] = set()
        self.sentence_cache: dict[tuple[bool, str], list[tuple[str, int]]] = {}
        self.newsletter_bodies = [self._newsletter_body() for _ in range(40)]
        self.internal_bodies = ["\n\n".join(T.paragraphs(rng, T.INTERNAL_SENTENCES, "", rng.randint(8, 40)))
                                for _ in range(40)]

    def _newsletter_body(self) -> str:
        return "\n\n".join(T.paragraphs(self.rng, T.NEWSLETTER_SENTENCES, "", self.rng.randint(40, 90)))

    # ------------------------------------------------------------------ time helpers

    def at(self, tk: str, day: dt.date, minute: int) -> int:
        """Epoch minutes of a local wall-clock time."""
        when = dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=self.zones[tk])
        return int(when.timestamp()) // 60

    def local(self, tk: str, epoch_min: int) -> dt.datetime:
        return dt.datetime.fromtimestamp(epoch_min * 60, self.zones[tk])

    def free(self, tk: str, day: dt.date, s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b in self.busy.get((tk, day), []))

    def reserve(self, tk: str, day: dt.date, s: int, e: int) -> None:
        self.busy.setdefault((tk, day), []).append((s, e))

    def next_id(self) -> int:
        self.seq += 1
        return self.seq

    # ------------------------------------------------------------------ people

    def mail_people(self, m: MatterSpec) -> list[tuple[Person, bool]]:
        """(person, needs a reference in the subject) for a matter's correspondence."""
        client = self.client_of[m.matter_id]
        single = len(client.open_matters) == 1
        out = [(p, p.side == "opposing") for p in m.contacts]
        out += [(p, not single) for p in client.people]
        out += [(p, True) for p in self.r.shared if m.matter_id in p.matter_ids]
        return out

    def call_people(self, m: MatterSpec) -> list[Person]:
        client = self.client_of[m.matter_id]
        people = list(m.contacts)
        if len(client.open_matters) == 1:
            people += client.people
        return people

    # ------------------------------------------------------------------ the month

    def run(self) -> Plan:
        keepers = self.r.keepers
        for k in keepers:
            for d in self.weekdays:
                if d.weekday() == 0:
                    self.dept_meeting(k, d)
        self.series()
        self.joint_meetings()
        for k in keepers:
            for d in self.days:
                if d.weekday() < 5:
                    self.workday(k, d)
                elif k.short_class == "PT" and self.rng.random() < 0.3:
                    self.weekend(k, d)
            self.calendar_noise(k)
        self.planted_confirm()
        self.out_of_period_mail()
        return Plan(self.first, self.last, self.acts, self.meetings, self.mails, self.calls, self.docs, self.injection)

    # ------------------------------------------------------------------ fixed events

    def dept_meeting(self, k: Keeper, d: dt.date) -> None:
        """The Monday department meeting (internal, ignored), kept free on the timeline."""
        s = self.at(k.timekeeper_id, d, 9 * 60)
        self.reserve(k.timekeeper_id, d, s, s + 30)

    def series(self) -> None:
        """One weekly client status call per lawyer, with a skipped week and a moved instance."""
        used: set[str] = set()
        for k in [k for k in self.r.keepers if k.is_lawyer]:
            tk = k.timekeeper_id
            options = [m for m in self.open_matters[tk] if m.matter_id not in used] or self.open_matters[tk]
            if not options:
                continue
            m = self.rng.choice(options)
            used.add(m.matter_id)
            who = self.rng.choice([p for p, _ in self.mail_people(m) if p.side == "client"] or
                                  [p for p, _ in self.mail_people(m)])
            weekday = self.rng.choice([1, 2, 3])
            minute = self.rng.choice([10 * 60, 11 * 60, 14 * 60, 16 * 60])
            days = [d for d in self.weekdays if d.weekday() == weekday]
            starts = [self.at(tk, d, minute) for d in days]
            topic = self.rng.choice(m.topics)
            meeting = Meeting(
                uid=f"series-{tk.lower()}-{self.year}{self.month:02d}@{FIRM_DOMAIN}",
                summary=f"{m.label} - weekly status call", start=starts[0], end=starts[0] + 30,
                organizer=k.person, attendees=[(k.person, "ACCEPTED"), (who, "ACCEPTED")], tzid=k.timezone,
                location="Dial-in: +1 (646) 555-0100, code 4471", description=f"Standing call on open items: {topic.phrase}.",
                rrule_until=self.at(tk, self.last, 23 * 60 + 59),
            )
            if len(starts) >= 3:
                meeting.exdates.append(starts[1])
            if len(starts) >= 4:
                orig = starts[2]
                new_day = days[2] + dt.timedelta(days=1)
                ns = self.at(tk, new_day, 15 * 60)
                meeting.moved[orig] = (ns, ns + 45)
            self.meetings[tk].append(meeting)
            for s, d in zip(starts, days):
                if s in meeting.exdates:
                    continue
                if s in meeting.moved:
                    ns, ne = meeting.moved[s]
                    self.add_meeting_act(tk, self.local(tk, ns).date(), ns, ne, m, topic, who, meeting)
                else:
                    self.add_meeting_act(tk, d, s, s + 30, m, topic, who, meeting)

    def add_meeting_act(self, tk: str, d: dt.date, s: int, e: int, m: MatterSpec | None, topic: Topic | None,
                        who: Person | None, meeting: Meeting, status: str = "activity") -> Act:
        self.reserve(tk, d, s, e)
        act = Act("meeting", tk, s, e, m.matter_id if m else None, status, meeting, topic, who)
        self.acts.append(act)
        return act

    def joint_meetings(self) -> None:
        """Meetings with a client that two of the firm's people attend: one invitation, two calendars."""
        for m in self.r.matters:
            if m.status != "open":
                continue
            team = [t for t in m.team if self.r.keeper(t).is_lawyer]
            if len(team) < 2:
                continue
            people = [p for p, _ in self.mail_people(m)]
            for d in self.weekdays:
                if self.rng.random() > 0.2:
                    continue
                a, b = team[0], self.rng.choice(team[1:])
                dur = self.rng.choice([45, 60, 60, 90])
                for _ in range(6):
                    minute = self.rng.randrange(9 * 60 + 30, 16 * 60, 15)
                    s = self.at(a, d, minute)
                    if self.free(a, d, s - 10, s + dur + 10) and self.free(b, d, s - 10, s + dur + 10):
                        break
                else:
                    continue
                who = self.rng.choice(people)
                topic = self.rng.choice(m.topics)
                ka, kb = self.r.keeper(a), self.r.keeper(b)
                form = self.rng.choice(T.MEETING_FORMS)
                summary = form.format(label=m.label, short=m.short_name, who=who.name, topic=topic.phrase,
                                      Topic=T.cap(topic.phrase))
                meeting = Meeting(
                    uid=f"{d:%Y%m%d}-{self.next_id():05d}@{FIRM_DOMAIN}", summary=summary, start=s, end=s + dur,
                    organizer=ka.person, attendees=[(ka.person, "ACCEPTED"), (kb.person, "ACCEPTED"), (who, "ACCEPTED")],
                    tzid=ka.timezone, location=self.rng.choice(["Conference Room 22B", "Zoom", "Client offices"]),
                    description=f"Agenda: {topic.phrase}; next steps.",
                )
                self.meetings[a].append(meeting)
                self.meetings[b].append(meeting)
                for tk in (a, b):
                    self.add_meeting_act(tk, d, s, s + dur, m, topic, who, meeting).label = "joint"

    # ------------------------------------------------------------------ a working day

    def workday(self, k: Keeper, d: dt.date) -> None:
        tk = k.timekeeper_id
        rng = self.rng
        mine = self.open_matters[tk]
        if not mine:
            return
        for _ in range(rng.choice([1, 2, 2, 3])):
            minute = rng.randrange(9 * 60, 17 * 60, 30)
            s = self.at(tk, d, minute)
            # Internal meetings are ignored evidence: they may be double-booked over billable work.
            self.internal_event(k, d, s, s + 30, rng.choice(INTERNAL_EVENTS))
            if self.free(tk, d, s, s + 30):
                self.reserve(tk, d, s, s + 30)
        lunch = rng.random() < 0.25
        if lunch:
            s = self.at(tk, d, 12 * 60 + 30)
            self.internal_event(k, d, s, s + 60, rng.choice(["Litigation group lunch", "Associates lunch",
                                                               "Lunch with Robert re: recruiting"]))
            self.reserve(tk, d, s, s + 60)
        n = rng.choice([2, 3, 3, 4]) if k.is_lawyer else rng.choice([1, 2, 2, 3])
        weights = [3 if m.lead == tk else 1 for m in mine]
        today: list[MatterSpec] = []
        for _ in range(min(n, len(mine))):
            pick = rng.choices(mine, weights)[0]
            if pick not in today:
                today.append(pick)
        groups: list = []
        for m in today:
            groups += self.matter_day(k, d, m)
        # A quick call on a matter not otherwise touched today: the 6-minute call that gets lost.
        others = [m for m in mine if m not in today and self.call_people(m)]
        if others and rng.random() < (0.3 if k.is_lawyer else 0.1):
            groups.append(self.g_call(k, d, rng.choice(others), minutes=rng.choice([2, 3, 4, 5, 6])))
        rng.shuffle(groups)
        self.lay_out(tk, d, groups, 8 * 60 + rng.randrange(0, 50, 5), 18 * 60 + 45)
        self.noise(k, d)

    def weekend(self, k: Keeper, d: dt.date) -> None:
        tk = k.timekeeper_id
        mine = self.open_matters[tk]
        if not mine:
            return
        m = self.rng.choice(mine)
        groups = [self.g_sent(k, d, m) for _ in range(self.rng.randint(1, 2))]
        if self.rng.random() < 0.4:
            groups.append(self.g_doc(k, d, m))
        self.lay_out(tk, d, groups, 10 * 60 + self.rng.randrange(0, 90, 5), 16 * 60)

    def matter_day(self, k: Keeper, d: dt.date, m: MatterSpec) -> list:
        rng = self.rng
        lawyer = k.is_lawyer
        groups = [self.g_received(k, d, m) for _ in range(rng.randint(3, 8) if lawyer else rng.randint(1, 4))]
        groups += [self.g_sent(k, d, m) for _ in range(rng.randint(1, 4) if lawyer else rng.randint(0, 2))]
        if rng.random() < 0.3:
            groups.append(self.g_burst(k, d, m))
        callable_ = self.call_people(m)
        if callable_:
            groups += [self.g_call(k, d, m) for _ in range(rng.choice([0, 1, 1, 2, 2, 3]) if lawyer else rng.choice([0, 1, 1]))]
        for _ in range(rng.choice([0, 1, 1, 2]) if lawyer else rng.choice([0, 0, 0, 1])):
            groups.append(self.g_meeting(k, d, m, with_call=bool(callable_) and rng.random() < 0.3))
        if lawyer and rng.random() < 0.06:
            groups.append(self.g_solo_block(k, d, m))
        if rng.random() < (0.4 if lawyer else 0.75):
            groups += [self.g_doc(k, d, m) for _ in range(rng.choice([1, 1, 2]))]
        return groups

    def lay_out(self, tk: str, d: dt.date, groups: list, start_min: int, end_min: int) -> None:
        """Place each group (span, place) after the last one, skipping reserved time; drop what does not fit."""
        cursor = self.at(tk, d, start_min)
        stop = self.at(tk, d, end_min)
        for span, place in groups:
            t = cursor + self.rng.randint(1, 8)
            for _ in range(50):
                clash = [(a, b) for a, b in self.busy.get((tk, d), []) if not (t + span <= a or t >= b)]
                if not clash:
                    break
                t = max(b for _, b in clash) + self.rng.randint(1, 6)
            if t + span > stop:
                continue
            place(t)
            self.reserve(tk, d, t, t + span)
            cursor = t + span

    # ------------------------------------------------------------------ groups: (span, place(t))

    def topic_for(self, m: MatterSpec) -> Topic:
        return self.rng.choice(m.topics)

    def person_for(self, m: MatterSpec) -> tuple[Person, bool]:
        return self.rng.choice(self.mail_people(m))

    def subject(self, m: MatterSpec, topic: Topic, need_ref: bool) -> str:
        if not need_ref and self.rng.random() < 0.4:
            return T.cap(topic.phrase)
        form = self.rng.choice(T.SUBJECT_FORMS)
        return form.format(label=m.label, short=m.short_name, topic=topic.phrase, Topic=T.cap(topic.phrase))

    def thread(self, tk: str, m: MatterSpec) -> tuple[Thread | None, Person, bool, Topic]:
        """Continue one of the timekeeper's threads on the matter, or start a new one."""
        threads = self.threads.setdefault((tk, m.matter_id), [])
        if threads and self.rng.random() < 0.55:
            th = self.rng.choice(threads[-4:])
            return th, th.who, True, Topic(th.subject, "")
        who, need_ref = self.person_for(m)
        return None, who, need_ref, self.topic_for(m)

    def g_received(self, k: Keeper, d: dt.date, m: MatterSpec, *, injection: bool = False):
        tk = k.timekeeper_id
        th, who, need_ref, topic = self.thread(tk, m)
        if injection:
            th, need_ref, topic = None, True, self.topic_for(m)
            who = next((p for p in m.contacts if p.side == "client"), who)
        real_topic = topic if th is None else self._thread_topic(m, th)
        mail = self.compose(who, [k.person], m, real_topic, th, need_ref, received=True, keeper=k, injection=injection)
        minutes = email_minutes("email_received", mail.words, len(mail.attachments))

        def place(t: int) -> None:
            mail.date = t
            self.finish_mail(tk, mail, "email_received", t, t + minutes, m, real_topic, who)
            if injection:
                self.injection.append((tk, mail.msg_id))
        return minutes, place

    def g_sent(self, k: Keeper, d: dt.date, m: MatterSpec):
        tk = k.timekeeper_id
        th, who, need_ref, topic = self.thread(tk, m)
        real_topic = topic if th is None else self._thread_topic(m, th)
        mail = self.compose(k.person, [who], m, real_topic, th, need_ref, received=False, keeper=k)
        minutes = email_minutes("email_sent", mail.words, len(mail.attachments))

        def place(t: int) -> None:
            mail.date = t + minutes
            self.finish_mail(tk, mail, "email_sent", t, t + minutes, m, real_topic, who)
        return minutes, place

    def g_burst(self, k: Keeper, d: dt.date, m: MatterSpec):
        """A received email answered two minutes later: the reply's interval overlaps the reading."""
        tk = k.timekeeper_id
        span_r, place_r = self.g_received(k, d, m)

        def place(t: int) -> None:
            place_r(t + 4)
            received = self.acts[-1]
            th = self.thread_by_last[received.payload.msg_id]
            reply = self.compose(k.person, [received.who], m, received.topic, th, True, received=False, keeper=k,
                                 short=True)
            minutes = email_minutes("email_sent", reply.words, 0)
            date = t + 4 + 2
            reply.date = date
            self.finish_mail(tk, reply, "email_sent", date - minutes, date, m, received.topic, received.who)
        return span_r + 6, place

    def _thread_topic(self, m: MatterSpec, th: Thread) -> Topic:
        for tp in m.topics:
            if tp.phrase.lower() in th.subject.lower():
                return tp
        return m.topics[0]

    def g_call(self, k: Keeper, d: dt.date, m: MatterSpec, minutes: int = 0):
        tk = k.timekeeper_id
        who = self.rng.choice(self.call_people(m))
        topic = self.topic_for(m)
        minutes = minutes or self.rng.choice([2, 3, 4, 5, 6, 6, 8, 10, 12, 15, 18, 24])

        def place(t: int) -> None:
            self.add_call(k, t * 60, (t + minutes) * 60, who.phone, m, topic, who)
        return minutes, place

    def add_call(self, k: Keeper, s: int, e: int, number: str, m: MatterSpec | None, topic: Topic | None,
                 who: Person | None, status: str = "activity", reason: str = "", candidates=()) -> Act:
        from .firm import fmt_phone
        call = Call(s, e, self.rng.choice(["inbound", "outbound"]), fmt_phone(k.phone, self.rng.randrange(5)),
                    fmt_phone(number, self.rng.randrange(5)), k.timekeeper_id, self.rng.random() < 0.2)
        self.calls.append(call)
        act = Act("call", k.timekeeper_id, s // 60, -(-e // 60), m.matter_id if m else None, status, call, topic, who,
                  reason, tuple(candidates))
        self.acts.append(act)
        return act

    def g_meeting(self, k: Keeper, d: dt.date, m: MatterSpec, with_call: bool = False):
        tk = k.timekeeper_id
        who, need_ref = self.person_for(m)
        topic = self.topic_for(m)
        dur = self.rng.choice([30, 30, 45, 60, 60, 90])
        if need_ref or self.rng.random() < 0.7:
            summary = self.rng.choice(T.MEETING_FORMS).format(label=m.label, short=m.short_name, who=who.name,
                                                              topic=topic.phrase, Topic=T.cap(topic.phrase))
        else:
            summary = f"Call with {who.name} re {topic.phrase}"
        external_organizer = self.rng.random() < 0.3
        form = self.rng.choices(["tzid", "utc", "floating"], [0.85, 0.1, 0.05])[0]
        if form == "floating" and k.timezone != "America/New_York":
            form = "tzid"

        def place(t: int) -> None:
            meeting = Meeting(
                uid=f"{d:%Y%m%d}-{self.next_id():05d}@{(who.email.split('@')[1] if external_organizer else FIRM_DOMAIN)}",
                summary=summary, start=t, end=t + dur, organizer=who if external_organizer else k.person,
                attendees=[(k.person, "ACCEPTED"), (who, "ACCEPTED" if not external_organizer else "NEEDS-ACTION")],
                tzid=k.timezone, location=self.rng.choice(["Zoom", "Teams", "Conference Room 21A", "By phone"]),
                description=f"Discuss {topic.phrase}.", time_form=form, use_duration=self.rng.random() < 0.2,
            )
            self.meetings[tk].append(meeting)
            self.add_meeting_act(tk, d, t, t + dur, m, topic, who, meeting)
            if with_call:
                cw = self.rng.choice(self.call_people(m))
                cs = t + self.rng.randint(5, 15)
                ce = min(cs + self.rng.randint(4, 12), t + dur - 2)
                self.add_call(k, cs * 60, ce * 60, cw.phone, m, topic, cw).label = "during meeting"
        return dur, place

    def g_solo_block(self, k: Keeper, d: dt.date, m: MatterSpec):
        """A work block with no attendees: a solo activity, matched by the reference in its title."""
        tk = k.timekeeper_id
        doc = self.rng.choice(m.docs)
        dur = self.rng.choice([45, 60, 90])

        def place(t: int) -> None:
            meeting = Meeting(uid=f"{d:%Y%m%d}-{self.next_id():05d}@{FIRM_DOMAIN}",
                              summary=f"{m.label} - work on {doc.title.lower()}", start=t, end=t + dur,
                              organizer=k.person, attendees=[], tzid=k.timezone, description="Blocked time.")
            self.meetings[tk].append(meeting)
            act = self.add_meeting_act(tk, d, t, t + dur, m, Topic(doc.narrative, doc.task_code), None, meeting)
            act.label = "solo"
        return dur, place

    def g_doc(self, k: Keeper, d: dt.date, m: MatterSpec):
        tk = k.timekeeper_id
        doc = self.rng.choice(m.docs)
        minutes = self.rng.choice([15, 20, 25, 30, 40, 45, 55, 60, 75, 90, 120])
        version = self.rng.randint(1, 6)
        by_ref = self.rng.random() < 0.1
        name = f"{m.reference} {doc.title} v{version}.docx" if by_ref else f"{m.short_name} - {doc.title} v{version}.docx"

        def place(t: int) -> None:
            key = (tk, doc.title + m.matter_id)
            action = "edited" if key in self.doc_seen else "created"
            if action == "edited" and self.rng.random() < 0.1:
                action = "finalized"
            self.doc_seen.add(key)
            row = DocRow(t + minutes, tk, name, action, minutes, "" if by_ref else m.matter_id)
            self.docs.append(row)
            self.acts.append(Act("document", tk, t, t + minutes, m.matter_id, "activity", row,
                                 Topic(doc.narrative, doc.task_code), None))
        return minutes, place

    # ------------------------------------------------------------------ mail

    def _sentences(self, received: bool, topic: str) -> list[tuple[str, int]]:
        key = (received, topic)
        found = self.sentence_cache.get(key)
        if found is None:
            pool = T.RECEIVED_SENTENCES if received else T.SENT_SENTENCES
            found = [(x, len(x.split())) for x in (p.format(topic=topic) for p in pool)]
            self.sentence_cache[key] = found
        return found

    def compose(self, sender: Person, to: list[Person], m: MatterSpec | None, topic: Topic, th: Thread | None,
                need_ref: bool, *, received: bool, keeper: Keeper, short: bool = False, injection: bool = False,
                subject: str | None = None) -> Mail:
        rng = self.rng
        R = rng.random
        kind = "email_received" if received else "email_sent"
        bands = T.RECEIVED_BANDS if received else T.SENT_BANDS
        if short:
            band = bands[0]
        elif received:
            band = bands[0] if R() < 0.75 else bands[1]
        else:
            x = R()
            band = bands[0] if x < 0.8 else (bands[1] if x < 0.95 else bands[2])
        lo, hi = band
        attachments = []
        if received and R() < 0.2:
            attachments.append(f"{T.cap(topic.phrase).replace(' ', '_').replace('/', '-')[:40]}.pdf")
        elif not received and R() < 0.1:
            attachments.append(f"WH_markup_{self.seq % 97 + 1}.docx")
        other = to[0]
        greet = f"{other.first}," if R() < 0.6 else f"Hi {other.first},"
        sig_lines = ([sender.name, f"{sender.title}, {sender.org}" if sender.title else sender.org]
                     if received else [sender.name, f"{sender.org} | {_fmt(sender.phone)}"])
        sig = "\n".join(x for x in sig_lines if x)
        closing = T.CLOSINGS[int(R() * len(T.CLOSINGS))]
        fixed = len(greet.split()) + len(closing.split())
        sig_n = len(sig.split())
        target = rng.randint(lo + 10, max(lo + 10, min(hi - 40, lo + (hi - lo) // 2 + 20))) - fixed - sig_n
        sents = self._sentences(received, topic.phrase)
        items: list[tuple[str, int]] = []
        core_n = fixed
        while core_n < fixed + max(target, 5):
            item = sents[int(R() * len(sents))]
            items.append(item)
            core_n += item[1]
        if injection:
            items.insert(min(1, len(items)), (T.INJECTION, len(T.INJECTION.split())))
            core_n += items[min(1, len(items) - 1)][1]
        # The estimate must not depend on how a parser trims a reply (signature, quote): every
        # reading of the body lands in the same band.
        while True:
            ba, bb = T.band_of(core_n, kind), T.band_of(core_n + sig_n, kind)
            if ba == bb and ba >= 0:
                break
            if core_n + sig_n > hi and len(items) > 1:
                core_n -= items.pop()[1]
            else:
                item = sents[int(R() * len(sents))]
                items.append(item)
                core_n += item[1]
        quote = ""
        if th is not None and R() < 0.6:
            when = self.local(keeper.timekeeper_id, self.at(keeper.timekeeper_id, self.first, 9 * 60))
            first_line = " ".join(th.last_text.split()[:18])
            quote = (f"On {when:%a, %b} {when.day}, {when.year}, {other.name if received else th.who.name} wrote:\n"
                     f"> {first_line}")
            if T.band_of(core_n + sig_n + len(quote.split()), kind) != T.band_of(core_n, kind):
                quote = ""
        paras: list[str] = []
        i = 0
        while i < len(items):
            step = 2 + int(R() * 3)
            paras.append(" ".join(t for t, _ in items[i:i + step]))
            i += step
        delim = "-- \n" if R() < 0.3 else ""
        body = greet + "\n\n" + "\n\n".join(paras) + "\n\n" + closing + "\n" + delim + sig
        if quote:
            body += "\n\n" + quote
        words = core_n
        if subject is None:
            subject = ("RE: " + th.subject if not th.subject.startswith("RE: ") else th.subject) if th else \
                self.subject(m, topic, need_ref)
        n = self.next_id()
        domain = sender.email.split("@")[1]
        mail = Mail(msg_id=f"{self.first:%Y%m}.{n:06x}.{rng.getrandbits(24):06x}@{domain}", sender=sender, to=to, cc=[],
                    subject=subject, date=0, zone=keeper.timezone if not received else rng.choice(
                        [keeper.timezone, "UTC", "America/New_York"]),
                    body=body, words=words, attachments=attachments)
        if th is not None:
            mail.in_reply_to = th.last_id
            mail.references = (th.refs + [th.last_id])[-6:]
        if received and rng.random() < 0.1:
            mail.html = "only" if rng.random() < 0.2 else "alternative"
        if not body.isascii():
            mail.charset = "iso-8859-1" if sender.name == "José Peña" else "utf-8"
        if received and keeper.aliases and rng.random() < 0.15:
            mail.to_alias = keeper.aliases[0]
        # Cc a colleague of the other side when the subject names the matter.
        if not received and m is not None and (need_ref or th is not None) and rng.random() < 0.15:
            same = [p for p, _ in self.mail_people(m) if p.side == other.side and p is not other
                    and p.email.split("@")[1] == other.email.split("@")[1]]
            if same and m.label in subject or (same and m.short_name in subject):
                mail.cc = [rng.choice(same)]
        return mail

    def finish_mail(self, tk: str, mail: Mail, kind: str, s: int, e: int, m: MatterSpec | None, topic: Topic | None,
                    who: Person | None, status: str = "activity", reason: str = "", candidates=()) -> Act:
        self.mails[tk].append(mail)
        act = Act(kind, tk, s, e, m.matter_id if m else None, status, mail, topic, who, reason, tuple(candidates))
        self.acts.append(act)
        if m is not None and status == "activity":
            key = (tk, m.matter_id)
            threads = self.threads.setdefault(key, [])
            existing = self.thread_by_last.pop(mail.in_reply_to, None) if mail.in_reply_to else None
            if existing:
                existing.refs = mail.references
                existing.last_id = mail.msg_id
                existing.last_text = mail.body
            else:
                subj = mail.subject[4:] if mail.subject.startswith("RE: ") else mail.subject
                existing = Thread(subj, who, mail.msg_id, [], mail.body)
                threads.append(existing)
            self.thread_by_last[mail.msg_id] = existing
        return act

    # ------------------------------------------------------------------ noise (ignored records)

    def noise(self, k: Keeper, d: dt.date) -> None:
        rng = self.rng
        tk = k.timekeeper_id
        for _ in range(rng.randint(9, 16)):
            self.newsletter(k, self.at(tk, d, rng.randrange(6 * 60, 20 * 60)))
        for _ in range(rng.randint(14, 24)):
            self.internal_mail(k, d)
        if rng.random() < 0.5:
            self.automated(k, d)
        for _ in range(rng.randint(3, 5)):
            other = rng.choice([x for x in self.r.keepers if x is not k])
            s = self.at(tk, d, rng.randrange(8 * 60, 18 * 60)) * 60 + rng.randrange(60)
            call = Call(s, s + rng.randint(20, 900), rng.choice(["inbound", "outbound"]), _fmt(k.phone),
                        _fmt(other.phone, rng.randrange(5)), tk, rng.random() < 0.2)
            self.calls.append(call)
            self.acts.append(Act("call", tk, s // 60, s // 60, None, "ignored", call))
        if rng.random() < 0.3:
            m = rng.choice(self.open_matters[tk])
            who = rng.choice(self.call_people(m) or [p for p, _ in self.mail_people(m)])
            s = self.at(tk, d, rng.randrange(8 * 60, 18 * 60)) * 60 + rng.randrange(60)
            call = Call(s, s, "inbound", _fmt(k.phone), _fmt(who.phone, rng.randrange(5)), tk)
            self.calls.append(call)
            self.acts.append(Act("call", tk, s // 60, s // 60, None, "ignored", call))

    def newsletter(self, k: Keeper, t: int, no_id: bool = False) -> Mail:
        rng = self.rng
        name, addr, title = rng.choice([
            ("The Docket Daily", "news@docketdaily.example", "The Docket Daily"),
            ("Bankruptcy Brief", "editors@bkbrief.example", "Bankruptcy Brief - Weekly"),
            ("Litigation Insider", "newsletter@litinsider.example", "Litigation Insider"),
            ("NYSBA Events", "events@nysba-events.example", "Upcoming CLE programs"),
        ])
        sender = Person(name, addr, side="bulk")
        body = self.newsletter_bodies[int(rng.random() * len(self.newsletter_bodies))]
        body += "\n\nYou are receiving this because you subscribed. Unsubscribe: https://" + addr.split("@")[1] + "/u"
        n = self.next_id()
        mail = Mail(f"nl.{n:06x}@{addr.split('@')[1]}", sender, [k.person], [], f"{title}: {self.local(k.timekeeper_id, t):%B} {self.local(k.timekeeper_id, t).day} edition",
                    t, "UTC", body, T.count_words(body), no_message_id=no_id)
        mail.headers.append(("List-Unsubscribe", f"<mailto:unsubscribe@{addr.split('@')[1]}>, <https://{addr.split('@')[1]}/u>"))
        if rng.random() < 0.3:
            mail.headers.append(("Precedence", "bulk"))
        if rng.random() < 0.1:
            mail.html = "alternative"
        self.mails[k.timekeeper_id].append(mail)
        if self.first <= self.local(k.timekeeper_id, t).date() <= self.last:
            self.acts.append(Act("email_received", k.timekeeper_id, t, t, None, "ignored", mail))
        return mail

    def internal_mail(self, k: Keeper, d: dt.date) -> None:
        rng = self.rng
        tk = k.timekeeper_id
        other = rng.choice([x for x in self.r.keepers if x is not k])
        t = self.at(tk, d, rng.randrange(8 * 60, 19 * 60))
        mine = self.open_matters[tk]
        if mine and rng.random() < 0.6:
            m = rng.choice(mine)
            subject = rng.choice([f"{m.short_name} - draft for your review", f"{m.label}: internal notes",
                                  f"Quick question on {m.short_name}"])
        else:
            subject = rng.choice(["Timesheets due Friday", "Lunch Thursday?", "Conference room booking",
                                  "CLE credits reminder", "Holiday party RSVP"])
        sent = rng.random() < 0.5
        sender, to = (k.person, [other.person]) if sent else (other.person, [k.person])
        body = self.internal_bodies[int(rng.random() * len(self.internal_bodies))] + "\n\n" + sender.name
        mail = Mail(f"int.{self.next_id():06x}@{FIRM_DOMAIN}", sender, to, [], subject, t, k.timezone, body,
                    T.count_words(body))
        if rng.random() < 0.2:
            extra = rng.choice([x for x in self.r.keepers if x is not k and x is not other] or [other])
            mail.cc = [extra.person]
        self.mails[tk].append(mail)
        self.acts.append(Act("email_sent" if sent else "email_received", tk, t, t, None, "ignored", mail))

    def automated(self, k: Keeper, d: dt.date) -> None:
        rng = self.rng
        tk = k.timekeeper_id
        t = self.at(tk, d, rng.randrange(7 * 60, 21 * 60))
        mine = self.open_matters[tk]
        m = rng.choice(mine)
        choice = rng.random()
        if choice < 0.5 and m.code_set in ("litigation", "bankruptcy"):
            sender = Person("ECF Notification", "no-reply@ecf.nysd.example", side="bulk")
            subject = f"Activity in Case {m.reference} {m.name} - Order"
            extra = [("Auto-Submitted", "auto-generated")]
        elif choice < 0.75:
            sender = Person("DocuSign", "noreply@docusign.example", side="bulk")
            subject = f"Completed: please review {m.short_name} signature packet"
            extra = []
        else:
            sender = Person("Matter Management", "notifications@matters.whitcombhale-ops.example", side="bulk")
            subject = "Your weekly matter activity digest"
            extra = [("Auto-Submitted", "auto-generated")]
        body = "This is an automated message. Please do not reply.\n\nView the details in your account."
        mail = Mail(f"auto.{self.next_id():06x}@{sender.email.split('@')[1]}", sender, [k.person], [], subject, t,
                    "UTC", body, T.count_words(body), headers=extra)
        self.mails[tk].append(mail)
        self.acts.append(Act("email_received", tk, t, t, None, "ignored", mail))

    def internal_event(self, k: Keeper, d: dt.date, s: int, e: int, summary: str) -> None:
        others = [x for x in self.r.keepers if x is not k]
        guests = self.rng.sample(others, min(len(others), 2))
        meeting = Meeting(uid=f"{d:%Y%m%d}-{self.next_id():05d}@{FIRM_DOMAIN}", summary=summary, start=s, end=e,
                          organizer=k.person, attendees=[(k.person, "ACCEPTED")] + [(g.person, "ACCEPTED") for g in guests],
                          tzid=k.timezone, location="Cafe Lumen")
        self.meetings[k.timekeeper_id].append(meeting)
        self.acts.append(Act("meeting", k.timekeeper_id, s, e, None, "ignored", meeting))

    def calendar_noise(self, k: Keeper) -> None:
        """All-day, cancelled, declined and internal events, and the Monday department meeting series."""
        rng = self.rng
        tk = k.timekeeper_id
        mondays = [d for d in self.weekdays if d.weekday() == 0]
        others = [x for x in self.r.keepers if x is not k]
        if mondays:
            s = self.at(tk, mondays[0], 9 * 60)
            meeting = Meeting(uid=f"dept-{tk.lower()}-{self.year}{self.month:02d}@{FIRM_DOMAIN}",
                              summary="Department meeting", start=s, end=s + 30, organizer=k.person,
                              attendees=[(k.person, "ACCEPTED")] + [(o.person, "ACCEPTED") for o in others[:3]],
                              tzid=k.timezone, rrule_until=self.at(tk, self.last, 23 * 60 + 59))
            self.meetings[tk].append(meeting)
            for d in mondays:
                s = self.at(tk, d, 9 * 60)
                self.acts.append(Act("meeting", tk, s, s + 30, None, "ignored", meeting))
        for d in rng.sample(self.weekdays, min(2, len(self.weekdays))):
            summary = rng.choice(["Out of office - CLE program", "Filing deadline (calendar hold)", "Firm retreat",
                                  "Court holiday - no hearings"])
            meeting = Meeting(uid=f"{d:%Y%m%d}-{self.next_id():05d}@{FIRM_DOMAIN}", summary=summary, start=0, end=0,
                              organizer=k.person, attendees=[], tzid=k.timezone, all_day=d)
            self.meetings[tk].append(meeting)
            self.acts.append(Act("meeting", tk, 0, 0, None, "ignored", meeting))
        mine = self.open_matters[tk]
        for status in ("cancelled", "declined", "internal"):
            if not mine or rng.random() < 0.3:
                continue
            d = rng.choice(self.weekdays)
            m = rng.choice(mine)
            who = rng.choice([p for p, _ in self.mail_people(m)])
            s = self.at(tk, d, rng.randrange(9 * 60, 17 * 60, 30))
            meeting = Meeting(uid=f"{d:%Y%m%d}-{self.next_id():05d}@{FIRM_DOMAIN}",
                              summary=f"{m.label} - {rng.choice(m.topics).phrase}", start=s, end=s + 60,
                              organizer=k.person, attendees=[(k.person, "ACCEPTED"), (who, "ACCEPTED")], tzid=k.timezone)
            if status == "cancelled":
                meeting.status = "CANCELLED"
                meeting.summary = "Cancelled: " + meeting.summary
            elif status == "declined":
                meeting.organizer = who
                meeting.attendees = [(who, "ACCEPTED"), (k.person, "DECLINED")]
                meeting.uid = meeting.uid.replace(FIRM_DOMAIN, who.email.split("@")[1])
            else:
                meeting.summary = f"{m.label} - case team meeting"
                meeting.attendees = [(k.person, "ACCEPTED")] + [(o.person, "ACCEPTED") for o in others[:2]]
            self.meetings[tk].append(meeting)
            self.acts.append(Act("meeting", tk, s, s + 60, None, "ignored", meeting))

    # ------------------------------------------------------------------ planted confirm-queue items

    def planted_confirm(self) -> None:
        """Ambiguous items (a contact of two matters, no reference), unknown callers and correspondents,
        and the prompt-injection email. Each gets its own free slot on the timeline."""
        rng = self.rng
        lawyers = [k for k in self.r.keepers if k.is_lawyer]
        n = max(2, len(lawyers) // 2 + 1)
        ambiguous_people: list[tuple[Person, ClientSpec]] = []
        for p in self.r.shared:
            ambiguous_people.append((p, self.r.client(p.client_id)))
        for c in self.r.clients:
            if len(c.open_matters) > 1:
                ambiguous_people += [(p, c) for p in c.people]
        def options_for(tk: str) -> list:
            mine = {x.matter_id for x in self.open_matters[tk]}
            return [(p, c) for p, c in ambiguous_people if any(m.matter_id in mine for m in c.open_matters)]
        with_options = [k for k in lawyers if options_for(k.timekeeper_id)] or lawyers
        for i in range(n):
            k = with_options[i % len(with_options)]
            tk = k.timekeeper_id
            d = self.weekdays[(3 + i * 5) % len(self.weekdays)]
            # an ambiguous email or call, from a person whose client has several open matters the tk works on
            options = options_for(tk)
            if options:
                p, c = options[i % len(options)]
                cands = tuple(sorted(p.matter_ids if len(p.matter_ids) > 1 else [m.matter_id for m in c.open_matters]))
                if i % 2 == 0:
                    subject = rng.choice(["Quick question before the board meeting", "Budget for next quarter",
                                          "Can you call me this afternoon?", "Following up"])
                    mail = self.compose(p, [k.person], None, Topic("the budget", ""), None, False, received=True,
                                        keeper=k, subject=subject)
                    minutes = email_minutes("email_received", mail.words, len(mail.attachments))
                    self.place_single(tk, d, minutes, lambda t, mail=mail, minutes=minutes, p=p, cands=cands:
                                      self._confirm_mail(tk, mail, t, minutes, p, cands))
                else:
                    self.place_single(tk, d, 7, lambda t, p=p, cands=cands, k=k: self.add_call(
                        k, t * 60, (t + 7) * 60, p.phone, None, None, p, "confirm", "ambiguous", cands))
            # an unknown caller (seconds not whole minutes: a real phone log)
            d2 = self.weekdays[(1 + i * 7) % len(self.weekdays)]
            number = self._unknown_number()
            secs = rng.randint(70, 500)
            self.place_single(tk, d2, -(-secs // 60), lambda t, k=k, number=number, secs=secs: self.add_call(
                k, t * 60 + 13, t * 60 + 13 + secs, number, None, None, None, "confirm", "unknown"))
        # an unknown correspondent (a prospective client) and the injection email
        k = lawyers[0]
        stranger = Person("Pat Lowry", "pat.lowry84@outlook.example", side="unknown")
        mail = self.compose(stranger, [k.person], None, Topic("a possible claim against my former employer", ""),
                            None, False, received=True, keeper=k, subject="Inquiry about representation")
        minutes = email_minutes("email_received", mail.words, len(mail.attachments))
        d = self.weekdays[len(self.weekdays) // 2]
        self.place_single(k.timekeeper_id, d, minutes, lambda t: self._confirm_mail(
            k.timekeeper_id, mail, t, minutes, stranger, (), "unknown"))
        m = next((m for m in self.open_matters[k.timekeeper_id] if any(p.side == "client" for p in m.contacts)), None)
        if m is not None:
            span, place = self.g_received(k, self.weekdays[-3], m, injection=True)
            self.place_single(k.timekeeper_id, self.weekdays[-3], span, place)

    def _unknown_number(self) -> str:
        known = {k.phone for k in self.r.keepers} | {p.phone for c in self.r.clients for p in c.people} | \
                {p.phone for m in self.r.matters for p in m.contacts} | {p.phone for p in self.r.shared}
        while True:
            n = f"{self.rng.choice(['347', '929', '551'])}5550{self.rng.randint(100, 199)}"
            if n not in known:
                return n

    def _confirm_mail(self, tk: str, mail: Mail, t: int, minutes: int, who: Person, cands, reason: str = "ambiguous"):
        mail.date = t
        self.finish_mail(tk, mail, "email_received", t, t + minutes, None, None, who, "confirm", reason, cands)

    def place_single(self, tk: str, d: dt.date, span: int, place) -> None:
        """Put one item in the first free gap of a day (late afternoon first, then any time)."""
        for start in list(range(17 * 60, 18 * 60 + 30, 7)) + list(range(8 * 60, 18 * 60, 7)):
            s = self.at(tk, d, start)
            if self.free(tk, d, s - 2, s + span + 2):
                place(s)
                self.reserve(tk, d, s, s + span)
                return

    def out_of_period_mail(self) -> None:
        """A few newsletters dated just outside the month: not records of a month's analysis."""
        before = self.first - dt.timedelta(days=1)
        after = self.last + dt.timedelta(days=1)
        for i, k in enumerate(self.r.keepers[:3]):
            tk = k.timekeeper_id
            self.newsletter(k, self.at(tk, before, 17 * 60 + i), no_id=(i == 0))
            self.newsletter(k, self.at(tk, after, 8 * 60 + i))


def _fmt(digits: str, style: int = 0) -> str:
    from .firm import fmt_phone
    return fmt_phone(digits, style)
