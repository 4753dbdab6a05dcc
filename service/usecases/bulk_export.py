"""Bulk Data `$export` (https://hl7.org/fhir/uv/bulkdata/export.html): kick-off, the export run,
polling, cancelling, and the manifest.

The run streams: rows come from a server-side cursor in batches (`yield_per`), each batch is
rendered to FHIR JSON and appended to ndjson files, so memory stays flat whatever the size.
Tasks and Goals are rendered once per version and kept (`service.usecases.renditions`): an export
copies the current renditions' text and renders only the rows changed since the last one.
It exports what the kick-off's client may read (`service.auth.policy.visible_rows`, same
rules as search), narrowed to the Group's members for a Group export.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import Select, select, text
from sqlalchemy.orm import Session

from service import clock
from service.auth import policy
from service.auth.audit import record_access
from service.auth.context import AccessContext
from service.auth.policy import CARE_TEAM_EXISTS, MODELS, visible_patients, visible_rows
from service.auth.scopes import parse_scopes
from service.config import INSTANCE_DIR
from service.models import Organization, Patient
from service.models.bulk import ExportJob
from service.usecases import renditions
from service.usecases.errors import ConflictError, NotFound
from service.usecases.unit_of_work import unit_of_work

# Patient-compartment types carebridge exports, in manifest order: every type the FHIR API serves
# about patients (https://hl7.org/fhir/uv/bulkdata/export.html#query-parameters, _type absent).
EXPORT_TYPES = (
    "Patient",
    "Encounter",
    "CarePlan",
    "Goal",
    "ServiceRequest",
    "Task",
    "CareTeam",
    "DocumentReference",
    "QuestionnaireResponse",
    "Observation",
    "Condition",
)
FILE_LINES = 100_000
# An export that kept this many new renditions refreshes the planner's statistics of their table.
RENDITIONS_WORTH_ANALYZING = 10_000
Render = Callable[[Session, str, Sequence[Any], AccessContext | None], list[dict[str, Any]]]
Lines = Iterator[list[bytes]]  # ndjson lines, a batch at a time


def export_dir() -> Path:
    """Where ndjson files are written; web and workers must share it (`CAREBRIDGE_EXPORT_DIR`)."""
    return Path(os.environ.get("CAREBRIDGE_EXPORT_DIR") or INSTANCE_DIR / "exports")


@dataclass(frozen=True)
class ExportRequest:
    level: str  # system | patient | group
    types: tuple[str, ...]  # empty: every type the client may read
    since: datetime | None
    request_url: str
    group_id: str | None = None


def access_of(job: ExportJob) -> AccessContext:
    return AccessContext(job.client_id, job.subject, job.organization_id, parse_scopes(job.scopes), job.patient_id)


def group_organization(session: Session, ctx: AccessContext, group_id: str) -> Organization:
    """A Group is a payer's member roster, named by the payer's id; only that payer (or an
    untenanted carebridge client) may use it."""
    org = session.get(Organization, group_id)
    if org is None or org.kind != "payer" or ctx.organization_id not in (None, org.id):
        raise NotFound("Group", group_id)
    return org


def members_of(group_id: str) -> Select[Any]:
    return select(Patient.id).where(Patient.payer_id == group_id)


def kick_off(session: Session, ctx: AccessContext, request: ExportRequest) -> ExportJob:
    types = request.types or tuple(t for t in EXPORT_TYPES if policy.allows(ctx, t, "r"))
    with unit_of_work(session):
        if request.group_id is not None:
            group_organization(session, ctx, request.group_id)
        now = clock.now()
        job = ExportJob(
            client_id=ctx.client_id,
            subject=ctx.subject,
            organization_id=ctx.organization_id,
            scopes=str(ctx.scopes),
            patient_id=ctx.patient_id,
            level=request.level,
            group_id=request.group_id,
            types=list(types),
            since=request.since,
            request_url=request.request_url,
            status="accepted",
            progress="queued",
            transaction_time=now,
            created_at=now,
            output=[],
        )
        session.add(job)
        session.flush()
        record_access(
            session, ctx, action="E", interaction="export", resource_type="Group" if request.group_id else None,
            resource_id=request.group_id, query=request.request_url, description=f"export {job.id} accepted",
        )  # fmt: skip
        return job


def waiting_jobs(session: Session, *, accepted_before: datetime) -> list[str]:
    """Jobs accepted before `accepted_before` that no worker has started: their message was lost."""
    query = select(ExportJob.id).where(ExportJob.status == "accepted", ExportJob.created_at < accepted_before)
    return list(session.scalars(query.order_by(ExportJob.created_at)))


def job_for(session: Session, ctx: AccessContext, job_id: str) -> ExportJob:
    """The job, for the client that started it only: its files need the same token's client."""
    job = session.get(ExportJob, job_id)
    if job is None or job.client_id != ctx.client_id or job.status == "cancelled":
        raise NotFound("export", job_id)
    return job


def cancel(session: Session, ctx: AccessContext, job_id: str, directory: Path) -> None:
    """DELETE on the status URL: stop the run (it checks between batches) and remove the files."""
    with unit_of_work(session):
        job = job_for(session, ctx, job_id)
        job.status = "cancelled"
        job.finished_at = clock.now()
        record_access(session, ctx, action="D", interaction="export", description=f"export {job.id} cancelled")
    shutil.rmtree(directory / job_id, ignore_errors=True)


def rows_query(job: ExportJob, resource_type: str, query: Select[Any] | None = None) -> Select[Any]:
    """`query` (default: the type's rows) narrowed to what the job exports, in id order."""
    model, patient_column = MODELS[resource_type]
    query = (select(model) if query is None else query).where(visible_rows(access_of(job), resource_type))
    if job.group_id is not None:
        query = query.where(patient_column.in_(members_of(job.group_id)))
    if resource_type == "CareTeam":
        query = query.where(CARE_TEAM_EXISTS)
    if job.since is not None:
        query = query.where(model.updated_at > job.since)
    return query.order_by(model.id)


class NdjsonFiles:
    """Appends lines to `<Type>-<n>.ndjson`, starting a new file every `file_lines` lines."""

    def __init__(self, directory: Path, resource_type: str, file_lines: int) -> None:
        self.directory = directory
        self.resource_type = resource_type
        self.file_lines = file_lines
        self.outputs: list[dict[str, Any]] = []
        self._file: IO[bytes] | None = None

    def write(self, line: bytes) -> None:
        if self._file is None or self.outputs[-1]["count"] >= self.file_lines:
            self._close()
            name = f"{self.resource_type}-{len(self.outputs) + 1}.ndjson"
            self._file = (self.directory / name).open("wb", buffering=1 << 20)
            self.outputs.append({"type": self.resource_type, "name": name, "count": 0})
        self._file.write(line)
        self._file.write(b"\n")
        self.outputs[-1]["count"] += 1

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def close(self) -> list[dict[str, Any]]:
        self._close()
        return self.outputs


def run_export(session: Session, job_id: str, directory: Path, render: Render, *, batch: int = 1000) -> str:
    """Write the job's files and complete it; returns the final status. Refuses a job not `accepted`."""
    with unit_of_work(session):
        job = session.get(ExportJob, job_id)
        if job is None or job.status != "accepted":
            raise ConflictError(f"export {job_id} is not waiting to run")
        job.status = "in-progress"
    target = directory / job.id
    target.mkdir(parents=True, exist_ok=True)
    outputs: list[dict[str, Any]] = []
    try:
        for done, resource_type in enumerate(job.types):
            files = NdjsonFiles(target, resource_type, FILE_LINES)
            lines = _kept_lines if resource_type in renditions.RENDERED else _rendered_lines
            for chunk in lines(session, job, resource_type, render, batch):
                if _status(session, job.id) == "cancelled":
                    files.close()
                    shutil.rmtree(target, ignore_errors=True)
                    return "cancelled"
                for line in chunk:
                    files.write(line)
            outputs += files.close()
            _set_progress(session, job.id, f"{done + 1}/{len(job.types)} types exported")
    except Exception as failure:
        session.rollback()
        _finish(session, job.id, "failed", [], error=f"{type(failure).__name__}: {failure}")
        raise
    return _finish(session, job.id, "completed", outputs)


def _rendered_lines(session: Session, job: ExportJob, resource_type: str, render: Render, batch: int) -> Lines:
    for rows in _batches(session, rows_query(job, resource_type), batch, scalars=True):
        yield [orjson.dumps(resource) for resource in render(session, resource_type, rows, access_of(job))]


def _kept_lines(session: Session, job: ExportJob, resource_type: str, render: Render, batch: int) -> Lines:
    """Current renditions as they are; the rest rendered from the same result rows, kept for the
    next export, then written. The kept ones are committed with the job's next progress step (the
    cursor must stay open)."""
    keeper = renditions.Keeper(session, resource_type)
    for rows in _batches(session, rows_query(job, resource_type, renditions.current_json_query(resource_type)), batch):
        kept = [getattr(row, renditions.KEPT) for row in rows]
        stale = [row for row, json in zip(rows, kept, strict=True) if json is None]
        rendered = [orjson.dumps(r) for r in render(session, resource_type, stale, access_of(job))] if stale else []
        keeper.add(stale, rendered)
        fresh = iter(rendered)
        yield [next(fresh) if json is None else json.encode() for json in kept]
    if keeper.finish() >= RENDITIONS_WORTH_ANALYZING:
        renditions.refresh_statistics(session)


def _batches(session: Session, query: Select[Any], size: int, *, scalars: bool = False) -> Iterator[Sequence[Any]]:
    # Server-side cursor on PostgreSQL (stream_results): never the whole result in memory.
    if session.get_bind().dialect.name == "postgresql":
        # The export reads the cursor to its end: plan for all rows, not the default first 10%.
        # A fast-start plan probes the renditions table once per row, and that table grows as the
        # export keeps what it renders: the run became quadratic (seconds per FETCH).
        # https://www.postgresql.org/docs/current/runtime-config-query.html#GUC-CURSOR-TUPLE-FRACTION
        session.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))
        # The tenancy filter's per-row subplans push the estimate past jit_above_cost, and JIT
        # compiling took ~1 s per export of a query that only streams rows (a quarter of a
        # 100,000-Task export). https://www.postgresql.org/docs/current/jit-decision.html
        session.execute(text("SET LOCAL jit = off"))
    result = session.execute(query.execution_options(yield_per=size))
    yield from (result.scalars() if scalars else result).partitions()


def _status(session: Session, job_id: str) -> str | None:
    return session.scalar(select(ExportJob.status).where(ExportJob.id == job_id))


def _set_progress(session: Session, job_id: str, progress: str) -> None:
    with unit_of_work(session):
        job = session.get(ExportJob, job_id)
        if job is not None:
            job.progress = progress


def _finish(session: Session, job_id: str, status: str, outputs: list[dict[str, Any]], error: str | None = None) -> str:
    with unit_of_work(session):
        job = session.get(ExportJob, job_id)
        if job is None or job.status == "cancelled":
            return "cancelled"
        job.status = status
        job.output = outputs
        job.error = error
        job.finished_at = clock.now()
        job.progress = status
        total = sum(o["count"] for o in outputs)
        record_access(
            session, access_of(job), action="E", interaction="export",
            resource_type="Group" if job.group_id else None, resource_id=job.group_id,
            outcome="0" if status == "completed" else "8",
            description=f"export {job.id} {status}: {total} resources" + (f" ({error})" if error else ""),
        )  # fmt: skip
        return status


def manifest(job: ExportJob, base_url: str) -> dict[str, Any]:
    """https://hl7.org/fhir/uv/bulkdata/export.html#response---complete-status"""
    return {
        "transactionTime": job.transaction_time.isoformat().replace("+00:00", "Z"),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [
            {"type": o["type"], "url": f"{base_url}/$export-file/{job.id}/{o['name']}", "count": o["count"]}
            for o in job.output
        ],
        "error": [],
    }


def file_path(job: ExportJob, name: str, directory: Path) -> Path:
    if job.status != "completed" or name not in {o["name"] for o in job.output}:
        raise NotFound("export file", name)
    return directory / job.id / name


def group_members(session: Session, ctx: AccessContext, group_id: str) -> tuple[Organization, list[str]]:
    """The payer and the member ids `ctx` may see, for the Group resource."""
    org = group_organization(session, ctx, group_id)
    query = members_of(group_id).where(visible_patients(ctx)).order_by(Patient.id)
    return org, list(session.scalars(query))
