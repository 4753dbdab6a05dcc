"""Medplum's MedplumClient (npm @medplum/core, pinned in tests/conformance/medplum) against a live
carebridge with a real token: read, search, history, `_summary=count`, and update with If-Match
(and 412 without), driven by medplum/medplum-client.mjs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conformance.conftest import Live
from tests.peers import peers_dir, require

SCRIPT_DIR = Path(__file__).parent / "medplum"
PINNED = json.loads((SCRIPT_DIR / "package.json").read_text())["dependencies"]["@medplum/core"]
NODE_TIMEOUT = 120
INSTALL_TIMEOUT = 600


def _installed_version(node_modules: Path) -> str | None:
    manifest = node_modules / "@medplum" / "core" / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.is_file() else None


@pytest.fixture(scope="module")
def medplum_dir() -> Iterator[Path]:
    """The script with its packages: the peers' node_modules when they hold the pinned
    @medplum/core (as tests/peers.py installs them), else `npm ci` from the lock here."""
    require(shutil.which("node") is not None and shutil.which("npm") is not None, "Node.js and npm are needed")
    with tempfile.TemporaryDirectory(prefix="carebridge-medplum-") as tmp:
        work = Path(tmp)
        for name in ("package.json", "package-lock.json", "medplum-client.mjs"):
            shutil.copy(SCRIPT_DIR / name, work / name)
        peers_modules = peers_dir() / "node_modules"
        if _installed_version(peers_modules) == PINNED:
            (work / "node_modules").symlink_to(peers_modules, target_is_directory=True)
        else:
            subprocess.run(
                ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                cwd=work, check=True, timeout=INSTALL_TIMEOUT, capture_output=True,
            )  # fmt: skip
        yield work


def test_medplum_client_reads_searches_counts_updates_and_reads_history(live: Live, medplum_dir: Path) -> None:
    server = live.base.removesuffix("/fhir/R4") + "/"
    done = subprocess.run(
        ["node", "medplum-client.mjs", server, live.token],
        cwd=medplum_dir, capture_output=True, text=True, timeout=NODE_TIMEOUT,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["failures"] == []
    assert result["checks"] == 13
