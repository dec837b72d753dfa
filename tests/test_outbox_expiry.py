"""No reminder is dropped silently: the SMTP server answers 451 for a whole
working day, then recovers. Every message still useful arrives exactly once;
the others are 'expired' (or superseded by a more urgent one), counted in
/healthz, listed on /admin/outbox and summarized to the administrators."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select

from html_tree import html
from scheduler.clock import Clock
from scheduler.settings import Settings
from scheduler.store.people import find_user
from scheduler.store.tables import OutboxRow
from scheduler.web.app import create_app
from scheduler.web.auth import set_password

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ADMIN, PASSWORD = "quantri@tttt.example", "mat-khau-du-dai"
RADIO = "bientap@daiptth.phutho.example"
PAPER = "toasoan@baophutho.phutho.example"
EPISODE = "phu-tho-2024.cchc-radio-tv.2024-03.2"  # at risk from Wednesday 27/03/2024; its window closes 31/03
ARTICLE = "phu-tho-2024.bao-phu-tho-cchc.2024-03.1"  # its edit milestone is on Wednesday 27/03


def rows(database) -> list[OutboxRow]:
    with database.transaction() as s:
        return list(s.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def working_day(cli, day: date) -> None:
    moment = datetime(day.year, day.month, day.day, 8, tzinfo=TZ)
    while moment.hour < 17:
        result = cli("remind", "--now", moment.strftime("%Y-%m-%d %H:%M"))
        assert result.code == 0, result.err
        moment += timedelta(minutes=30)


def test_a_day_of_451_then_recovery_delivers_the_useful_once_and_lists_the_rest(cli, smtp, database):
    assert cli("load", "--now", "2024-02-20").code == 0
    assert cli("users", "add", ADMIN, "--role", "admin", "--now", "2024-03-26 08:00").code == 0
    working_day(cli, date(2024, 3, 26))
    before = {r.id for r in rows(database)}
    assert before and all(r.state in ("sent", "superseded") for r in rows(database))

    smtp.handler.busy_until = float("inf")  # Wednesday 27/03: 451 to everything, all day
    working_day(cli, date(2024, 3, 27))
    failing = [r for r in rows(database) if r.id not in before]
    assert failing and smtp.handler.received[-1].message_id in {r.message_id for r in rows(database) if r.id in before}
    assert all(
        r.state == "pending" and r.attempts > 1 and "451" in r.last_error
        for r in failing
        if r.expires_at > datetime(2024, 3, 27, 17, tzinfo=TZ)
    )  # tried all day, kept while useful

    smtp.handler.busy_until = 0  # Thursday 28/03: it answers again
    working_day(cli, date(2024, 3, 28))
    final = {r.id: r for r in rows(database)}
    received = Counter(m.message_id for m in smtp.handler.received)
    assert received == Counter({r.message_id: 1 for r in final.values() if r.state == "sent"})  # each once
    thursday = datetime(2024, 3, 28, 8, tzinfo=TZ)
    for r in (final[r.id] for r in failing):
        if r.expires_at > thursday and r.state != "superseded":  # still useful when the server came back
            assert r.state == "sent" and received[r.message_id] == 1, (r.kind, r.about, r.state)
        else:
            assert r.state in ("expired", "superseded"), (r.kind, r.about, r.state)
    by_about = {(r.kind, r.about, r.recipient): r for r in final.values()}
    edit = by_about[("milestone", f"{ARTICLE}#edit", PAPER)]
    assert edit.state == "expired" and "451" in edit.last_error  # its day passed without the server
    at_risk = by_about[("at_risk", EPISODE, RADIO)]  # useful until the window closes: it went on Thursday, once
    assert at_risk.state == "sent" and at_risk.attempts > 1 and received[at_risk.message_id] == 1
    assert at_risk.sent_at.astimezone(TZ).date() == date(2024, 3, 28)
    expired = [r for r in final.values() if r.state == "expired"]
    assert expired

    # summarized to the administrator, once, on Thursday
    [summary] = [m for m in smtp.handler.received if ADMIN in m.recipients and "hết hạn" in m.subject]
    text = summary.message.get_body(("plain",)).get_content()
    assert all(r.about in text for r in expired) and "/admin/outbox" in text
    assert str(len(expired)) in summary.subject
    assert cli("remind", "--now", "2024-03-28 16:45").code == 0
    assert len([m for m in smtp.handler.received if ADMIN in m.recipients and "hết hạn" in m.subject]) == 1

    # counted in /healthz and listed for administrators
    with database.transaction() as s:
        set_password(s, find_user(s, ADMIN), PASSWORD, thursday)
    app = create_app(Settings.load(), database, Clock(TZ, datetime(2024, 3, 28, 17, tzinfo=TZ)))
    client = TestClient(app, follow_redirects=False)
    health = client.get("/healthz").json()
    assert health["outbox"]["expired"] == {"total": len(expired), "last_7_days": len(expired)}
    token = html(client.get("/login")).one("form", id="login").one("input", name="csrf").attrs["value"]
    assert (
        client.post("/login", data={"csrf": token, "email": ADMIN, "password": PASSWORD, "next": "/"}).status_code
        == 303
    )
    page = html(client.get("/admin/outbox"))
    listed = {
        int(tr.attrs["data-id"]): tr.attrs["data-state"]
        for tr in page.one("table", id="unsent").all("tr")
        if "data-id" in tr.attrs
    }
    assert listed == {r.id: r.state for r in final.values() if r.state in ("expired", "superseded", "failed")}
    assert f"{ARTICLE}#edit" in page.one("tr", data_id=str(edit.id)).text()
