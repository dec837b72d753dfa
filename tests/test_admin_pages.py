"""The administration pages through the real app on SQLite and PostgreSQL:
only administrators get in; people are added (with a link to set their
password), edited (their sessions end), disabled and enabled; API tokens
are shown once and revoked; subscriptions revoked; schedule files uploaded,
refused with every problem on its line, previewed and loaded."""

from __future__ import annotations

import hashlib
import time
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

import web_session
from html_tree import Node, html
from scheduler.cli.context import DEFAULT_TZ
from scheduler.clock import Clock, parse_now
from scheduler.i18n import gettext_for
from scheduler.settings import Settings
from scheduler.store.database import Database
from scheduler.store.people import find_user
from scheduler.store.tables import ApiTokenRow, LoadRow, OccurrenceRow, OutboxRow, UserRow
from scheduler.web.app import create_app
from scheduler.web.auth import set_password

NOW = "2024-03-20 10:00"
PASSWORD = "mat-khau-du-dai"
ADMIN, PRODUCER, EDITOR = "quantri@tttt.example", "prod@dai.example", "lich@dai.example"
CONTEST = "phu-tho-2024.thi-tim-hieu-cchc.2024-Q3.1"
VOTERS = "phu-tho-2024.dai-bieu-cu-tri.2024"
# What loading tests/data/upload/fixed.yaml on 20/03/2024 changes in the bundled plan loaded on 02/01/2024.
EXPECTED = {"created": 5, "revised": 1, "cancelled": 1, "unchanged": 48}
NEW = {f"{VOTERS}.2", *(f"phu-tho-2024.ban-tin-cchc.2024-Q{q}.1" for q in range(1, 5))}
BROKEN_LINES = {
    11: "plan.timezone",
    132: "obligations[1].cadence",
    213: "obligations[9].host",
    215: "obligations[9].channels[1]",
}
vi = gettext_for("vi")


class Site:
    """The app as if it were 20/03/2024 10:00, with an administrator, a producer and an editor."""

    def __init__(self, db: Database, cli, outputs):
        self.db, self.cli, self.outputs = db, cli, outputs
        self.app = create_app(Settings.load(), db, Clock(DEFAULT_TZ, parse_now(NOW, DEFAULT_TZ)))

    def client(self, email: str | None = None) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)
        if email:
            r = sign_in(client, email)
            assert r.status_code == 303, r.text
        return client

    def count(self, table, *where) -> int:
        with self.db.transaction() as s:
            return s.scalar(select(func.count()).select_from(table).where(*where))

    def user_id(self, email: str) -> int:
        with self.db.transaction() as s:
            return find_user(s, email).id

    def notices(self) -> set[tuple[str, str]]:
        """The outbox's notices of moved and cancelled occurrences: (kind, occurrence)."""
        with self.db.transaction() as s:
            return set(
                s.execute(select(OutboxRow.kind, OutboxRow.about).where(OutboxRow.kind.in_(("moved", "cancelled"))))
            )

    def state(self) -> tuple:
        """What an upload must not change before it is loaded."""
        with self.db.transaction() as s:
            return (
                self.count(OccurrenceRow),
                self.count(LoadRow),
                self.count(OutboxRow),
                s.get(OccurrenceRow, CONTEST).status,
                s.get(OccurrenceRow, f"{VOTERS}.1").revision,
            )


def sign_in(client: TestClient, email: str):
    return web_session.sign_in(client, email, PASSWORD)


@pytest.fixture
def site(cli, db_url, tmp_path):
    assert cli("load", "--now", "2024-01-02").code == 0
    for email, role, agency in ((ADMIN, "admin", None), (PRODUCER, "producer", "dai-ptth"), (EDITOR, "editor", None)):
        assert cli("users", "add", email, "--role", role, *(["--agency", agency] if agency else [])).code == 0
    db = Database(db_url)
    with db.transaction() as s:
        for email in (ADMIN, PRODUCER, EDITOR):
            set_password(s, find_user(s, email), PASSWORD, parse_now(NOW, DEFAULT_TZ))
    yield Site(db, cli, tmp_path / "outputs")
    db.close()


@pytest.fixture
def admin(site) -> TestClient:
    return site.client(ADMIN)


def csrf(page: Node) -> str:
    return page.all("input", name="csrf")[0].attrs["value"]


def upload(client: TestClient, *files: tuple[str, bytes], token: str | None = "page"):
    if token == "page":
        token = csrf(html(client.get("/admin/schedules")))
    return client.post(
        "/admin/schedules/check",
        data={"csrf": token} if token else {},
        files=[("files", (name, data, "application/yaml")) for name, data in files],
    )


def test_every_admin_page_is_for_administrators_only(site):
    pages = [
        "/admin",
        "/admin/users",
        f"/admin/users/{site.user_id(EDITOR)}",
        "/admin/tokens",
        "/admin/subscriptions",
        "/admin/schedules",
        "/admin/schedules/loads/1",
        "/admin/outbox",
    ]
    posts = [
        "/admin/users",
        f"/admin/users/{site.user_id(EDITOR)}",
        f"/admin/users/{site.user_id(EDITOR)}/disable",
        f"/admin/users/{site.user_id(EDITOR)}/enable",
        f"/admin/users/{site.user_id(EDITOR)}/password-link",
        "/admin/tokens",
        "/admin/tokens/1/revoke",
        "/admin/subscriptions/1/revoke",
        "/admin/schedules/load",
    ]
    before = site.state(), site.count(UserRow), site.count(ApiTokenRow)
    for email in (PRODUCER, EDITOR):
        client = site.client(email)
        token = csrf(html(client.get("/admin")))  # the refusal page's own forms carry the token
        for path in pages:
            r = client.get(path)
            assert r.status_code == 403, path
            assert vi("Administrator") in html(r).one("p", id="forbidden").text()
        for path in posts:
            r = client.post(path, data={"csrf": token, "email": "x@y.example", "roles": "admin", "lang": "vi"})
            assert r.status_code == 403, path
        assert upload(client, ("fixed.yaml", b"plan: {}\n"), token=token).status_code == 403
    assert (site.state(), site.count(UserRow), site.count(ApiTokenRow)) == before
    anonymous = site.client()
    for path in pages:
        r = anonymous.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


def test_the_overview_counts_and_lists_the_loaded_plans(site, admin):
    assert site.cli("subscribe", "--email", EDITOR, "--agency", "dai-ptth").code == 0
    r = admin.get("/admin")
    assert r.status_code == 200
    page = html(r)
    assert [a.attrs["href"] for a in page.one("ul", id="sections").all("a")] == [
        "/admin/users",
        "/admin/tokens",
        "/admin/subscriptions",
        "/admin/schedules",
    ]
    assert page.one("span", id="count-users").text().startswith("3")
    assert page.one("span", id="count-subscriptions").text().startswith("1")
    assert page.one("span", id="count-loads").text().startswith("1")
    region = page.one("div", cls="scroll")
    assert region.attrs["role"] == "region" and region.attrs["tabindex"] == "0" and region.attrs["aria-label"]
    row = region.one("table", id="plans").one("tr", data_plan="phu-tho-2024")
    assert [c.text() for c in row.elements()][2:] == ["02/01/2024 00:00", "50"]
    assert all(th.attrs.get("scope") for th in page.all("th"))


def test_adding_a_user_sends_a_link_and_a_duplicate_keeps_the_values(site, admin):
    page = html(admin.get("/admin/users"))
    form = page.one("form", id="add-user")
    assert form.one("input", id="send_link").attrs.get("checked") == ""  # on unless unticked
    assert {o.attrs["value"] for o in form.one("select", id="agency").all("option")} >= {"", "dai-ptth", "bao-phu-tho"}
    for field in ("email", "name", "agency", "lang"):
        assert form.one("label", for_=field)
    fields = {
        "csrf": csrf(page),
        "email": "phongvien2@bao.example",
        "name": "Lê Mai",
        "roles": ["producer"],
        "agency": "bao-phu-tho",
        "lang": "vi",
        "send_link": "1",
    }
    r = admin.post("/admin/users", data=fields)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/admin/users/{site.user_id(fields['email'])}?")
    shown = html(admin.get(r.headers["location"]))
    assert "phongvien2@bao.example" in shown.one("p", id="done").text()
    assert site.count(OutboxRow, OutboxRow.kind == "password", OutboxRow.recipient == "phongvien2@bao.example") == 1
    listed = html(admin.get("/admin/users")).one("table", id="users").one("tr", data_email="phongvien2@bao.example")
    assert "Lê Mai" in listed.text() and "Báo Phú Thọ" in listed.text() and vi("Producer") in listed.text()

    again = admin.post("/admin/users", data={**fields, "name": "Giữ lại"})
    assert again.status_code == 422
    page = html(again)
    assert page.one("p", id="user-error").text() == vi("{email} is already a user").format(email=fields["email"])
    assert page.one("input", id="email").attrs["aria-invalid"] == "true"
    assert page.one("input", id="name").attrs["value"] == "Giữ lại"
    assert page.one("option", value="bao-phu-tho").attrs.get("selected") == ""
    assert page.one("input", id="role-producer").attrs.get("checked") == ""
    no_agency = admin.post("/admin/users", data={**fields, "email": "x@bao.example", "agency": "", "send_link": ""})
    assert no_agency.status_code == 422 and html(no_agency).one("select", id="agency").attrs["aria-invalid"] == "true"
    assert site.count(UserRow) == 4 and site.count(OutboxRow, OutboxRow.kind == "password") == 1


def test_changing_roles_ends_their_sessions_and_a_new_name_does_not(site, admin):
    producer = site.client(PRODUCER)
    assert producer.get("/me").status_code == 200
    path = f"/admin/users/{site.user_id(PRODUCER)}"
    form = html(admin.get(path)).one("form", id="edit-user")
    assert form.one("input", id="role-producer").attrs.get("checked") == ""
    assert form.one("option", value="dai-ptth").attrs.get("selected") == ""
    token = csrf(html(admin.get(path)))
    r = admin.post(
        path, data={"csrf": token, "name": "Trần Bình", "roles": ["producer"], "agency": "dai-ptth", "lang": "vi"}
    )
    assert r.status_code == 303 and r.headers["location"].startswith(path + "?done=saved")
    assert producer.get("/me").status_code == 200  # only the name changed: still signed in
    r = admin.post(
        path,
        data={"csrf": token, "name": "Trần Bình", "roles": ["producer", "editor"], "agency": "dai-ptth", "lang": "en"},
    )
    assert r.status_code == 303
    out = producer.get("/me")
    assert out.status_code == 303 and out.headers["location"].startswith("/login")
    with site.db.transaction() as s:
        row = find_user(s, PRODUCER)
        assert (row.roles, row.lang, row.name) == (["producer", "editor"], "en", "Trần Bình")
    refused = admin.post(path, data={"csrf": token, "roles": ["producer"], "agency": "", "lang": "vi"})
    assert refused.status_code == 422 and html(refused).one("p", id="user-error")
    myself = f"/admin/users/{site.user_id(ADMIN)}"
    r = admin.post(myself, data={"csrf": token, "roles": ["editor"], "lang": "vi"})
    assert r.status_code == 422 and html(r).one("input", id="role-editor").attrs.get("checked") == ""
    assert admin.get("/admin").status_code == 200


def test_a_disabled_user_cannot_sign_in_until_enabled(site, admin):
    producer = site.client(PRODUCER)
    path = f"/admin/users/{site.user_id(PRODUCER)}"
    page = html(admin.get(path))
    assert page.one("form", id="disable-user") and not page.all("form", id="enable-user")
    r = admin.post(f"{path}/disable", data={"csrf": csrf(page)})
    assert r.status_code == 303
    page = html(admin.get(r.headers["location"]))
    assert page.one("dd", id="user-state").text() == vi("disabled") and page.one("form", id="enable-user")
    assert producer.get("/me").status_code == 303
    assert sign_in(site.client(), PRODUCER).status_code == 401
    assert admin.post(f"{path}/enable", data={"csrf": csrf(page)}).status_code == 303
    assert sign_in(site.client(), PRODUCER).status_code == 303
    own = f"/admin/users/{site.user_id(ADMIN)}"
    assert not html(admin.get(own)).all("form", id="disable-user")
    assert admin.post(f"{own}/disable", data={"csrf": csrf(page)}).status_code == 422
    assert admin.get("/admin").status_code == 200


def test_a_new_password_link_goes_through_the_outbox(site, admin):
    path = f"/admin/users/{site.user_id(EDITOR)}"
    r = admin.post(f"{path}/password-link", data={"csrf": csrf(html(admin.get(path)))})
    assert r.status_code == 303
    assert site.count(OutboxRow, OutboxRow.kind == "password", OutboxRow.recipient == EDITOR) == 1
    assert EDITOR in html(admin.get(r.headers["location"])).one("p", id="done").text()


def test_a_token_is_shown_once_works_and_is_revoked(site, admin):
    page = html(admin.get("/admin/tokens"))
    assert page.one("label", for_="token-user")
    r = admin.post("/admin/tokens", data={"csrf": csrf(page), "email": ADMIN})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    token = html(r).one("code", id="token").text()
    assert token.startswith("mps_")
    with site.db.transaction() as s:
        row = s.scalars(select(ApiTokenRow)).one()
        assert row.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    api = site.client()
    answer = api.get("/api/users", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and ADMIN in {u["email"] for u in answer.json()}
    listing = admin.get("/admin/tokens")
    assert token not in listing.text
    assert html(listing).one("table", id="tokens").one("tr", data_id=str(row.id))
    r = admin.post(f"/admin/tokens/{row.id}/revoke", data={"csrf": csrf(page)})
    assert r.status_code == 303
    assert api.get("/api/users", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    revoked = html(admin.get("/admin/tokens")).one("tr", data_id=str(row.id))
    assert vi("revoked") in revoked.text() and not revoked.all("form")
    missing = admin.post("/admin/tokens", data={"csrf": csrf(page), "email": "nobody@x.example"})
    assert missing.status_code == 422 and html(missing).one("p", id="token-error")


def test_revoking_a_subscription_stops_its_feed(site, admin):
    result = site.cli("subscribe", "--email", EDITOR, "--agency", "dai-ptth", "--no-milestones")
    assert result.code == 0, result.err
    token = result.out.split("/feeds/")[1].split(".ics")[0]
    reader = site.client()
    assert reader.get(f"/feeds/{token}.ics").status_code == 200
    page = html(admin.get("/admin/subscriptions"))
    (row,) = page.one("table", id="subscriptions").one("tbody").all("tr")
    assert EDITOR in row.text() and "Đài Phát thanh và Truyền hình tỉnh" in row.text()
    assert vi("without production milestones") in row.text()
    r = admin.post(f"/admin/subscriptions/{row.attrs['data-id']}/revoke", data={"csrf": csrf(page)})
    assert r.status_code == 303
    time.sleep(1.1)  # the feed cache looks at the database at most once a second
    assert reader.get(f"/feeds/{token}.ics").status_code == 404
    assert vi("revoked") in html(admin.get("/admin/subscriptions")).one("tr", data_id=row.attrs["data-id"]).text()


def test_a_broken_file_shows_every_problem_with_its_line_and_loads_nothing(site, admin, data):
    before = site.state()
    r = upload(admin, ("broken.yaml", (data / "upload" / "broken.yaml").read_bytes()))
    assert r.status_code == 422
    page = html(r)
    problems = page.one("section", id="problems").all("li", cls="problem")
    assert sorted(int(p.attrs["data-line"]) for p in problems) == sorted(BROKEN_LINES)
    for line, where in BROKEN_LINES.items():
        (problem,) = [p for p in problems if p.attrs["data-line"] == str(line)]
        assert problem.one("p", cls="problem-text").text().startswith(f"broken.yaml:{line}: {where}: ")
        marked = problem.one("pre", cls="excerpt").one("mark").text()
        assert marked.lstrip().startswith(f"{line} │")
    assert '"2 moi nam"' in page.one("li", data_line="132").text()
    assert site.state() == before
    assert not page.all("form", id="load")
    assert not (site.outputs / "schedules" / "uploads").exists()  # nothing kept of a file that cannot load


def test_files_that_are_not_utf8_too_large_or_too_many_are_refused(site, admin, data):
    before = site.state()
    latin = "plan:\n  code: x\n  title: Kê hoach\n".encode("latin-1")  # "ê" is one byte, not UTF-8
    r = upload(admin, ("latin.yaml", latin))
    assert r.status_code == 422
    assert html(r).one("li", cls="problem").one("p", cls="problem-text").text().startswith("latin.yaml:3: ")
    big = upload(admin, ("big.yaml", b"#" * ((1 << 20) + 1)))
    assert big.status_code == 413 and html(big).one("li", cls="problem").text().startswith("big.yaml: ")
    many = upload(admin, *[(f"f{i}.yaml", b"plan: {}\n") for i in range(6)])
    assert many.status_code == 413 and html(many).one("p", id="upload-error")
    huge = upload(admin, *[(f"f{i}.yaml", b"#" * (1 << 20)) for i in range(6)])
    assert huge.status_code == 413 and html(huge).one("p", id="upload-error")
    text = upload(admin, ("notes.txt", b"plan: {}\n"))
    assert text.status_code == 422 and html(text).one("li", cls="problem").text().startswith("notes.txt: ")
    nothing = upload(admin, ("", b""))  # what a browser sends when no file was chosen
    assert nothing.status_code == 422 and html(nothing).one("p", id="upload-error")
    assert upload(admin).status_code == 400  # not even a multipart form
    assert upload(admin, ("fixed.yaml", (data / "upload" / "fixed.yaml").read_bytes()), token=None).status_code == 403
    assert site.state() == before


def load_form(page: Node) -> list[tuple[str, str]]:
    return [(i.attrs["name"], i.attrs["value"]) for i in page.one("form", id="load").all("input")]


def post_load(client: TestClient, fields: list[tuple[str, str]]):
    """The load form as a browser sends it: its fields in order, repeated names included."""
    return client.post(
        "/admin/schedules/load",
        content=urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def test_a_fixed_file_is_previewed_then_loaded_as_the_command_line_would(site, admin, data):
    before = site.state()
    r = upload(admin, ("fixed.yaml", (data / "upload" / "fixed.yaml").read_bytes()))
    assert r.status_code == 200, r.text
    page = html(r)
    plan = page.one("section", id="preview").one("section", data_plan="phu-tho-2024")
    counts = {k: int(plan.one("li", cls=f"count-{k}").one("strong").text()) for k in EXPECTED}
    assert counts == EXPECTED
    listed = {
        k: {li.attrs["data-id"] for li in plan.all("ul", id=f"preview-1-{k}")[0].all("li")}
        for k in ("created", "revised", "cancelled")
    }
    assert listed == {"created": NEW, "revised": {f"{VOTERS}.1"}, "cancelled": {CONTEST}}
    assert site.state() == before  # the preview was rolled back
    form = load_form(page)
    sha = hashlib.sha256((data / "upload" / "fixed.yaml").read_bytes()).hexdigest()
    assert ("sha256", sha) in form and ("name", "fixed.yaml") in form
    assert (site.outputs / "schedules" / "uploads" / f"{sha}.yaml").read_bytes() == (
        data / "upload" / "fixed.yaml"
    ).read_bytes()

    without = post_load(admin, [(k, v) for k, v in form if k != "csrf"])
    assert without.status_code == 403 and site.state() == before
    r = post_load(admin, form)
    assert r.status_code == 303 and r.headers["location"].startswith("/admin/schedules/loads/")
    result = html(admin.get(r.headers["location"]))
    section = result.one("section", cls="load")
    assert {k: int(section.one("li", cls=f"count-{k}").one("strong").text()) for k in EXPECTED} == EXPECTED
    created = section.one("ul", id=f"load-{section.attrs['data-id']}-created")
    assert {li.attrs["data-id"] for li in created.all("li")} == NEW
    with site.db.transaction() as s:
        load = s.get(LoadRow, int(section.attrs["data-id"]))
        assert (load.created, load.revised, load.cancelled, load.unchanged, load.source) == (
            *EXPECTED.values(),
            "fixed.yaml",
        )
        assert s.get(OccurrenceRow, CONTEST).status == "cancelled"
        assert s.get(OccurrenceRow, f"{VOTERS}.1").revision == 2
        assert s.scalar(select(func.count()).where(OccurrenceRow.id.in_(NEW))) == 5
    assert site.notices() == {("moved", f"{VOTERS}.1"), ("cancelled", CONTEST)}
    assert site.count(OccurrenceRow) == before[0] + 5
    recent = html(admin.get("/admin/schedules")).one("table", id="loads").one("tr", data_id=section.attrs["data-id"])
    assert "fixed.yaml" in recent.text()
    stale = post_load(admin, form)  # the same preview again: another load came since
    assert stale.status_code == 409 and html(stale).one("p", id="upload-error")
    assert site.count(LoadRow) == 2


def test_the_command_line_finds_the_same_changes_in_the_fixed_file(site, data):
    result = site.cli("load", data / "upload" / "fixed.yaml", "--now", NOW, "--lang", "en")
    assert result.code == 0, result.err
    assert (
        result.out.strip()
        == "phu-tho-2024: {created} new, {revised} revised, {cancelled} cancelled, {unchanged} unchanged".format(
            **EXPECTED
        )
    )
    assert site.notices() == {("moved", f"{VOTERS}.1"), ("cancelled", CONTEST)}


def test_a_file_changed_or_unknown_after_the_check_is_refused(site, admin, data):
    page = html(upload(admin, ("fixed.yaml", (data / "upload" / "fixed.yaml").read_bytes())))
    form = load_form(page)
    sha = dict(form)["sha256"]
    stored = site.outputs / "schedules" / "uploads" / f"{sha}.yaml"
    stored.write_bytes(stored.read_bytes() + b"\n# edited\n")
    before = site.state()
    changed = post_load(admin, form)
    assert changed.status_code == 409 and "fixed.yaml" in html(changed).one("p", id="upload-error").text()
    unknown = post_load(admin, [(k, "0" * 64 if k == "sha256" else v) for k, v in form])
    assert unknown.status_code == 409 and "fixed.yaml" in html(unknown).one("p", id="upload-error").text()
    traversal = post_load(admin, [(k, "../../x" if k == "sha256" else v) for k, v in form])
    assert traversal.status_code == 409
    assert site.state() == before
