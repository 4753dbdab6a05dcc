"""`carebridge fhir ...`: operators' tools for FHIR files (the main CLI adds this group).

    carebridge fhir validate [--profile us-core|carebridge|URL] FILE...
    carebridge fhir roundtrip FILE
    carebridge fhir export --patient ID

Each FILE holds one resource or a Bundle. New commands add themselves with `@fhir.command()`.
"""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from fhir_mappings import MappingError, has_errors, roundtrip_json, validate
from service.cli_partners import cli_session
from service.config import Settings
from service.usecases.patient_record import patient_case_bundle

fhir = click.Group("fhir", help="Validate, round-trip and export FHIR R4 resources.")

_FILES = click.Path(exists=True, dir_okay=False, path_type=Path)


@fhir.command("validate")
@click.option(
    "--profile",
    default=None,
    metavar="us-core|carebridge|URL",
    help="Also check every resource against this profile (claimed profiles are always checked).",
)
@click.argument("files", nargs=-1, required=True, type=_FILES)
def validate_command(profile: str | None, files: tuple[Path, ...]) -> None:
    """Validate FILES; print each issue with its path; exit 1 if any file has an error."""
    failed = False
    for path in files:
        try:
            issues = validate(path.read_bytes(), profile)
        except ValueError as bad_profile:
            raise click.BadParameter(str(bad_profile), param_hint="--profile") from None
        for found in issues:
            click.echo(f"{path}: {found}", err=found.is_error)
        failed = failed or has_errors(issues)
    if failed:
        raise SystemExit(1)
    click.echo(f"{len(files)} file(s) valid")


@fhir.command("roundtrip")
@click.argument("file", type=_FILES)
def roundtrip_command(file: Path) -> None:
    """Import FILE into carebridge's records and export it again; print the JSON.

    The file is validated first (the importers assume valid FHIR): an invalid one prints its
    issues and exits 1, like `fhir validate`.
    """
    try:
        resource = orjson.loads(file.read_bytes())
        if not isinstance(resource, dict):
            raise MappingError("not a FHIR resource (a JSON object)")
        errors = [found for found in validate(resource) if found.is_error]
        for found in errors:
            click.echo(f"{file}: {found}", err=True)
        if errors:
            raise SystemExit(1)
        exported = roundtrip_json(resource)
    except (MappingError, orjson.JSONDecodeError) as unusable:
        raise click.ClickException(f"{file}: {unusable}") from None
    click.echo(orjson.dumps(exported, option=orjson.OPT_INDENT_2).decode())


@fhir.command("export")
@click.option("--patient", "patient_id", required=True, help="carebridge's id of the patient.")
def export_command(patient_id: str) -> None:
    """Print a patient's CarePlans, Goals, ServiceRequests and Tasks (and the Patient) as a collection Bundle."""
    fhir_base = Settings.from_env().public_url.rstrip("/") + "/fhir/R4"
    with cli_session() as session:
        bundle = patient_case_bundle(session, patient_id, fhir_base=fhir_base)
    click.echo(orjson.dumps(bundle, option=orjson.OPT_INDENT_2).decode())
