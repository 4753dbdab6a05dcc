"""Kept renditions: a write keeps the JSON it wrote, an export copies what is kept and renders (and
keeps) what is not, and a record changed outside the ORM, or a new generation of the mappings, is
rendered again, so an export never serves a stale version."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from service import fhir_bridge
from service.auth.context import AccessContext
from service.models.bulk import ExportJob
from service.models.renditions import Rendition
from service.usecases import bulk_export, handoffs, renditions
from service.usecases.bulk_export import run_export
from tests.factories import Case


class CountingRender:
    """fhir_bridge.render, counting the rows it renders per type."""

    def __init__(self) -> None:
        self.rows: dict[str, int] = {}

    def __call__(
        self, session: Session, resource_type: str, rows: Sequence[Any], reader: AccessContext | None
    ) -> list[dict[str, Any]]:
        self.rows[resource_type] = self.rows.get(resource_type, 0) + len(rows)
        return fhir_bridge.render(session, resource_type, rows, reader)


def export_tasks(session: Session, case: Case, directory: Path) -> tuple[dict[str, dict[str, Any]], CountingRender]:
    job = ExportJob(
        client_id="test-payer", subject="test-payer", organization_id=case.payer.id, scopes="system/Task.rs",
        level="group", group_id=case.payer.id, types=["Task"], request_url="test",
        transaction_time=case.stay.admitted_at, created_at=case.stay.admitted_at, output=[],
    )  # fmt: skip
    session.add(job)
    session.commit()
    render = CountingRender()
    assert run_export(session, job.id, directory, render, batch=2) == "completed"
    lines = (directory / job.id / "Task-1.ndjson").read_bytes().splitlines()
    return {task["id"]: task for task in map(orjson.loads, lines)}, render


@pytest.fixture
def task_ids(session: Session, case: Case) -> list[str]:
    return [
        handoffs.create_handoff(
            session, actor="planner", patient_id=case.patient.id, kind="payer_authorization",
            owner_org_id=case.payer.id, requester_org_id=case.hospital.id, description=f"auth {n}",
        ).id
        for n in range(5)
    ]  # fmt: skip


def test_a_write_keeps_the_json_the_api_serves_and_the_export_copies_it(
    session: Session, case: Case, task_ids: list[str], tmp_path: Path
) -> None:
    changed = handoffs.add_note(session, task_ids[0], "member called back", actor="planner")

    kept = {r.resource_id: r for r in session.scalars(select(Rendition).where(Rendition.resource_type == "Task"))}
    assert set(kept) == set(task_ids)
    assert (kept[changed.id].version, kept[changed.id].generation) == (2, renditions.GENERATION)
    served = fhir_bridge.render(session, "Task", handoffs_of(session, task_ids), None)
    assert [kept[task["id"]].json.encode() for task in served] == [orjson.dumps(task) for task in served]
    exported, render = export_tasks(session, case, tmp_path)
    assert render.rows == {} and exported[changed.id]["note"][-1]["text"] == "member called back"


def test_the_second_export_copies_the_first_ones_renditions(
    session: Session, case: Case, task_ids: list[str], tmp_path: Path
) -> None:
    forget_renditions(session)  # as after an upgrade, or rows loaded without the ORM
    first, first_render = export_tasks(session, case, tmp_path)
    second, second_render = export_tasks(session, case, tmp_path)

    assert set(first) == set(task_ids) and first_render.rows == {"Task": 5}
    assert second == first and second_render.rows == {}
    assert second == {t["id"]: t for t in fhir_bridge.render(session, "Task", handoffs_of(session, task_ids), None)}


def test_a_task_changed_outside_the_orm_is_rendered_again_at_its_new_version(
    session: Session, case: Case, task_ids: list[str], tmp_path: Path
) -> None:
    export_tasks(session, case, tmp_path)
    model = bulk_export.MODELS["Task"][0]
    changed = update(model).where(model.id == task_ids[0]).values(status="completed", version=model.version + 1)
    session.execute(changed.execution_options(synchronize_session=False))
    session.commit()

    exported, render = export_tasks(session, case, tmp_path)

    assert render.rows == {"Task": 1}
    assert exported[task_ids[0]]["meta"]["versionId"] == "2" and exported[task_ids[0]]["status"] == "completed"
    kept = session.get_one(Rendition, ("Task", task_ids[0]))
    assert kept.version == 2 and orjson.loads(kept.json) == exported[task_ids[0]]


def test_a_new_mapping_generation_renders_everything_again(
    session: Session, case: Case, task_ids: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export_tasks(session, case, tmp_path)
    monkeypatch.setattr(renditions, "GENERATION", renditions.GENERATION + 1)

    _, render = export_tasks(session, case, tmp_path)

    assert render.rows == {"Task": 5}


def test_an_older_version_never_replaces_a_newer_rendition(session: Session, case: Case, task_ids: list[str]) -> None:
    rows = handoffs_of(session, task_ids[:1])
    keep(session, rows, [b'{"v": 1}'])
    newer = handoffs.add_note(session, task_ids[0], "v2", actor="planner")
    keep(session, [newer], [b'{"v": 2}'])
    stale = type("Row", (), {"id": task_ids[0], "version": 1})()

    keep(session, [stale], [b'{"v": 1}'])

    assert session.scalar(select(Rendition.json).where(Rendition.resource_id == task_ids[0])) == '{"v": 2}'


def forget_renditions(session: Session) -> None:
    session.execute(delete(Rendition))
    session.commit()


def keep(session: Session, rows: Sequence[Any], lines: Sequence[bytes]) -> None:
    keeper = renditions.Keeper(session, "Task")
    keeper.add(rows, lines)
    keeper.finish()


def handoffs_of(session: Session, ids: Sequence[str]) -> list[Any]:
    model = bulk_export.MODELS["Task"][0]
    return list(session.scalars(select(model).where(model.id.in_(ids)).order_by(model.id)))
