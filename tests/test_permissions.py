"""Who may do what: producers record for their own agency (or one the schedule
grants), the DHA excuses what it does not host, editors read, admins manage;
every refusal is falsy and carries a message id whose parameters fill it."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.i18n import gettext_for
from scheduler.people.permissions import (
    ALLOWED,
    Actor,
    Decision,
    may_admin,
    may_excuse,
    may_open_evidence,
    may_read,
    may_record,
)

STATION = "dai-ptth"
PAPER = "bao-phu-tho"
DHA = "so-noi-vu"
DIC = "so-tttt"


def actor(*roles, agency=STATION, disabled=False, email="nguyen.van.a@phutho.gov.vn") -> Actor:
    return Actor(email, tuple(roles), agency, disabled)


def allowed(decision: Decision) -> None:
    assert decision
    assert decision.allowed is True
    assert decision == ALLOWED


def refusal(decision: Decision, **params) -> str:
    """A refusal is falsy, names a message id, and the id formats with its
    parameters in every language; returns the English text."""
    assert not decision
    assert decision.allowed is False
    assert decision.reason
    assert (decision.params or {}) == params
    for lang in ("vi", "en"):
        gettext_for(lang)(decision.reason).format(**(decision.params or {}))
    return decision.reason.format(**(decision.params or {}))


# --- may_record --------------------------------------------------------------------------------


def test_a_producer_records_for_the_host():
    allowed(may_record(actor("producer"), STATION))


def test_a_producer_of_a_granted_agency_records():
    allowed(may_record(actor("producer", agency=PAPER), STATION, granted=(DIC, PAPER)))


def test_a_producer_of_another_agency_is_refused():
    text = refusal(
        may_record(actor("producer", agency=PAPER), STATION),
        email="nguyen.van.a@phutho.gov.vn",
        agency=PAPER,
        host=STATION,
    )
    assert text == "nguyen.van.a@phutho.gov.vn records for bao-phu-tho, and this occurrence is hosted by dai-ptth"


def test_a_grant_to_someone_else_does_not_help():
    refusal(
        may_record(actor("producer", agency=PAPER), STATION, granted=(DIC,)),
        email="nguyen.van.a@phutho.gov.vn",
        agency=PAPER,
        host=STATION,
    )


def test_the_vague_coordinators_grant_nothing():
    # "các cơ quan, đơn vị liên quan" names no agency: nothing is granted
    refusal(
        may_record(actor("producer", agency=PAPER), STATION, granted=()),
        email="nguyen.van.a@phutho.gov.vn",
        agency=PAPER,
        host=STATION,
    )


def test_a_producer_with_no_agency_is_refused():
    refusal(
        may_record(actor("producer", agency=None), STATION),
        email="nguyen.van.a@phutho.gov.vn",
        agency="-",
        host=STATION,
    )


def test_a_producer_with_no_agency_is_refused_even_when_nothing_is_granted_to_no_one():
    # an empty agency must not match an empty host or an empty grant
    assert not may_record(actor("producer", agency=None), STATION, granted=("",))
    assert not may_record(actor("producer", agency=""), STATION, granted=("",))


@pytest.mark.parametrize("role", ["editor", "dha", "admin"])
def test_other_roles_do_not_record(role):
    text = refusal(may_record(actor(role), STATION), email="nguyen.van.a@phutho.gov.vn")
    assert "not a producer" in text


def test_no_role_does_not_record():
    assert not may_record(actor(), STATION)


def test_a_producer_with_other_roles_too_records():
    allowed(may_record(actor("editor", "producer"), STATION))


def test_a_disabled_producer_is_refused():
    text = refusal(may_record(actor("producer", disabled=True), STATION), email="nguyen.van.a@phutho.gov.vn")
    assert "disabled" in text


def test_a_disabled_granted_producer_is_refused():
    assert not may_record(actor("producer", agency=PAPER, disabled=True), STATION, granted=(PAPER,))


# --- may_excuse --------------------------------------------------------------------------------


def test_the_dha_excuses_another_agency():
    allowed(may_excuse(actor("dha", agency=DHA), STATION))


def test_the_dha_does_not_excuse_what_it_hosts():
    text = refusal(may_excuse(actor("dha", agency=DHA), DHA), email="nguyen.van.a@phutho.gov.vn", host=DHA)
    assert "someone else" in text


def test_a_dha_user_with_no_agency_excuses():
    allowed(may_excuse(actor("dha", agency=None), STATION))
    allowed(may_excuse(actor("dha", agency=None), DHA))


@pytest.mark.parametrize("roles", [("producer",), ("editor",), ("admin",), ()])
def test_only_the_dha_excuses(roles):
    text = refusal(may_excuse(actor(*roles, agency=DHA), STATION))
    assert "dha" in text


def test_a_disabled_dha_user_is_refused():
    refusal(may_excuse(actor("dha", agency=DHA, disabled=True), STATION), email="nguyen.van.a@phutho.gov.vn")


# --- may_read, may_admin -----------------------------------------------------------------------


@pytest.mark.parametrize("roles", [("editor",), ("producer",), ("dha",), ("admin",), ()])
def test_anyone_enabled_reads(roles):
    allowed(may_read(actor(*roles)))


def test_a_disabled_user_does_not_read():
    refusal(may_read(actor("editor", disabled=True)), email="nguyen.van.a@phutho.gov.vn")


def test_an_admin_administers():
    allowed(may_admin(actor("admin", agency=None)))
    allowed(may_admin(actor("editor", "admin")))


@pytest.mark.parametrize("roles", [("editor",), ("producer",), ("dha",), ()])
def test_others_do_not_administer(roles):
    text = refusal(may_admin(actor(*roles)), email="nguyen.van.a@phutho.gov.vn")
    assert "not an administrator" in text


def test_a_disabled_admin_does_not_administer():
    text = refusal(may_admin(actor("admin", disabled=True)), email="nguyen.van.a@phutho.gov.vn")
    assert "disabled" in text


def test_admins_do_not_record_or_excuse():
    admin = actor("admin", agency=DHA)
    assert not may_record(admin, DHA)
    assert not may_excuse(admin, STATION)


# --- Decision ----------------------------------------------------------------------------------


def test_a_decision_is_truthy_only_when_allowed():
    assert Decision(True)
    assert not Decision(False, "no")
    assert bool(ALLOWED) is True
    assert ALLOWED.reason == "" and ALLOWED.params is None


# --- properties --------------------------------------------------------------------------------

ROLES = ("producer", "editor", "dha", "admin")
agencies = st.one_of(st.none(), st.sampled_from((STATION, PAPER, DHA, DIC)))
emails = st.text(string.ascii_letters + "{}.@", min_size=1, max_size=12)  # braces must not break formatting
actors = st.builds(
    Actor, emails, st.lists(st.sampled_from(ROLES), unique=True, max_size=4).map(tuple), agencies, st.booleans()
)


def check(decision: Decision) -> None:
    if decision:
        assert decision == ALLOWED
    else:
        assert decision.reason
        for lang in ("vi", "en"):
            gettext_for(lang)(decision.reason).format(**(decision.params or {}))


@settings(max_examples=300, deadline=None)
@given(
    actors,
    st.sampled_from((STATION, PAPER, DHA, DIC)),
    st.lists(st.sampled_from((STATION, PAPER, DHA, DIC)), max_size=3).map(tuple),
)
def test_every_decision_formats_and_follows_the_rules(who, host, granted):
    record, excuse, read, admin = (may_record(who, host, granted), may_excuse(who, host), may_read(who), may_admin(who))
    for decision in (record, excuse, read, admin):
        check(decision)
    enabled = not who.disabled
    assert bool(record) == (
        enabled and "producer" in who.roles and who.agency is not None and (who.agency == host or who.agency in granted)
    )
    assert bool(excuse) == (enabled and "dha" in who.roles and who.agency != host)
    assert bool(read) == enabled
    assert bool(admin) == (enabled and "admin" in who.roles)


def test_evidence_opens_for_the_dha_admins_and_the_recording_agencies():
    allowed(may_open_evidence(actor("dha", agency=DHA), STATION))
    allowed(may_open_evidence(actor("admin", agency=None), STATION))
    allowed(may_open_evidence(actor("producer"), STATION))
    allowed(may_open_evidence(actor("editor"), STATION))  # the station's own editor
    allowed(may_open_evidence(actor("producer", agency=DIC), STATION, (DIC,)))  # granted by the schedule
    text = refusal(
        may_open_evidence(actor("producer", agency=PAPER), STATION),
        email="nguyen.van.a@phutho.gov.vn",
        agency=PAPER,
        host=STATION,
    )
    assert "only" in text
    refusal(
        may_open_evidence(actor("editor", agency=None), STATION),
        email="nguyen.van.a@phutho.gov.vn",
        agency="-",
        host=STATION,
    )
    refusal(may_open_evidence(actor("dha", agency=DHA, disabled=True), STATION), email="nguyen.van.a@phutho.gov.vn")
