"""`carebridge questionnaires ...`: the screening instruments (service.usecases.questionnaires).

    carebridge questionnaires load my-instrument.json    # a FHIR R4 Questionnaire with a url
    carebridge questionnaires list
    carebridge questionnaires show ahc-hrsn-core
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from service.cli_clients import open_session
from service.fhir_bridge import questionnaire_json
from service.usecases import questionnaires as instruments


@click.group()
def questionnaires() -> None:
    """Screening instruments (FHIR Questionnaire); `db upgrade` loads the ones carebridge ships."""


@questionnaires.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load(file: Path) -> None:
    """Validate and store a Questionnaire (loading the same url and version again replaces it)."""
    resource = json.loads(file.read_text("utf-8"))
    if not isinstance(resource, dict):
        raise click.ClickException(f"{file} holds no FHIR resource (a JSON object)")
    with open_session() as session:
        row = instruments.load_questionnaire(session, resource)
        click.echo(f"loaded Questionnaire/{row.id} ({row.url}{'|' + row.version if row.version else ''})")


@questionnaires.command("list")
def list_() -> None:
    """The loaded instruments: id, status, url and title."""
    with open_session() as session:
        for row in instruments.search(session):
            click.echo(f"{row.id}\t{row.status}\t{row.url}\t{row.title or row.name or ''}")


@questionnaires.command("show")
@click.argument("ident")
def show(ident: str) -> None:
    """One instrument's Questionnaire, as served on the FHIR API."""
    with open_session() as session:
        click.echo(json.dumps(questionnaire_json(instruments.read(session, ident)), indent=2))
