"""The web app's pages per demo role, by hand from issue #10: hospital staff work cases (worklist,
case, analytics) and their queue; facilities and payers their queue; auditors and administrators
have no patient pages. Signed out, every page sends to sign-in; each refusal is audited."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from service.models import User
from service.models.audit_events import AccessEvent
from tests.service.fhir_api.support import World

PASSWORD = "pages"
HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
# The last two open the H&P sent with A's referral and the one sent with B's.
PAGES = (
    *("/app/worklist", "/app/stays/{stay}", "/app/queue", "/app/analytics"),
    *("/app/documents/{a}", "/app/documents/{b}"),
)

# role -> (organisation of world A, answers for PAGES), by hand.
EXPECTED: dict[str, tuple[str, tuple[int, ...]]] = {
    "discharge_planner": ("hospital", (200, 200, 200, 200, 200, 404)),
    "case_manager": ("hospital", (200, 200, 200, 200, 200, 404)),
    "intake_coordinator": ("snf", (403, 403, 200, 403, 200, 404)),
    "payer_care_manager": ("payer", (403, 403, 200, 403, 200, 404)),
    "auditor": ("hospital", (403, 403, 403, 403, 403, 403)),
    "administrator": ("hospital", (403, 403, 403, 403, 403, 403)),
}


def _sign_in(client: Any, session: Session, role: str, org_id: str) -> None:
    user = User(username=f"{role}.pages", display_name=role, organization_id=org_id, role=role, password_hash=HASH)
    session.add(user)
    session.commit()
    page = client.get("/app/signin").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/app/signin", data={"csrf_token": token, "username": f"{role}.pages", "password": PASSWORD})
    assert response.status_code == 303


def _url(page: str, world: World) -> str:
    return page.format(stay=world.a.stay.id, a=world.ids_a["DocumentReference"], b=world.ids_b["DocumentReference"])


def _refusals(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AccessEvent).where(AccessEvent.outcome != "0")) or 0


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_pages_by_role(role: str, client: Any, session: Session, world: World) -> None:
    kind, answers = EXPECTED[role]
    org = {"hospital": world.a.hospital.id, "snf": world.a.snfs[0].id, "payer": world.a.payer.id}[kind]
    _sign_in(client, session, role, org)
    got = []
    for page in PAGES:
        before = _refusals(session)
        status = client.get(_url(page, world)).status_code
        assert status < 400 or _refusals(session) == before + 1, f"{page}: {status} not audited"
        got.append(status)
    assert tuple(got) == answers
    # Another hospital's case is not there for anyone of A's side.
    assert client.get(f"/app/stays/{world.b.stay.id}").status_code in (403, 404)


def test_another_hospitals_planner_gets_404_for_the_case(client: Any, session: Session, world: World) -> None:
    _sign_in(client, session, "discharge_planner", world.b.hospital.id)
    assert client.get(f"/app/stays/{world.a.stay.id}").status_code == 404


def test_signed_out_every_page_sends_to_sign_in_and_is_audited(client: Any, session: Session, world: World) -> None:
    for page in PAGES:
        before = _refusals(session)
        response = client.get(_url(page, world))
        assert response.status_code == 302 and response.location.startswith("/app/signin"), page
        assert _refusals(session) == before + 1, page


def test_a_disabled_person_is_signed_out(client: Any, session: Session, world: World) -> None:
    _sign_in(client, session, "discharge_planner", world.a.hospital.id)
    user = session.scalars(select(User).where(User.username == "discharge_planner.pages")).one()
    user.active = False
    session.commit()
    assert client.get("/app/worklist").status_code == 302
