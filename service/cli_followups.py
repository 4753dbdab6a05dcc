"""`carebridge followups ...`: the follow-ups a discharge starts (service.usecases.follow_ups).

carebridge followups show              # the rules in force, in words
carebridge followups check my.json     # exit 1 with the problem
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from service.usecases import follow_ups
from service.web.formatting import humanize

OWNER_WORDS = {
    "hospital": "the hospital",
    "primary_care": "primary care",
    "placed": "the placed facility or agency",
}


def _after(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return f"{hours // 24} days" if hours % 24 == 0 and hours >= 72 else f"{hours} hours"


@click.group()
def followups() -> None:
    """Follow-ups by discharge disposition (shipped defaults, or the file in CAREBRIDGE_FOLLOW_UPS)."""


@followups.command("show")
def show() -> None:
    """The rules in force: per disposition, each step, who owns it and when it is due."""
    try:
        rules = follow_ups.rules()
    except follow_ups.FollowUpConfigError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"from {follow_ups.source()}")
    for disposition, steps in rules.items():
        click.echo(f"{humanize(disposition, 'disposition')}:")
        for step in steps:
            owner, due = OWNER_WORDS[step.owner], _after(step.due_after)
            click.echo(f"  - {step.description}: owned by {owner}, due {due} after discharge")
        if not steps:
            click.echo("  (no follow-up)")


@followups.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check(file: Path) -> None:
    """Validate a follow-up file before pointing CAREBRIDGE_FOLLOW_UPS at it."""
    try:
        rules = follow_ups.read(file)
    except follow_ups.FollowUpConfigError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{file}: valid ({sum(len(s) for s in rules.values())} steps over {len(rules)} dispositions)")
