"""The official FHIR R4 examples shared next to the repository (`<repo>/../shared/fhir-examples/r4`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "fhir-examples" / "r4"


def example_params() -> list[Any]:
    """One pytest param per example file; a single placeholder when the directory is missing, so
    that the test reports why (see `load`) instead of silently collecting nothing."""
    files = sorted(EXAMPLES_DIR.glob("*.json"))
    return [pytest.param(path, id=path.name) for path in files] or [pytest.param(None, id="examples-missing")]


def load(path: Path | str | None) -> dict[str, Any]:
    """An example's JSON, by path or file name. Skips when the examples are absent, except under
    CI (CI=true), where that is a failure."""
    full = EXAMPLES_DIR / path if isinstance(path, str) else path
    if full is None or not full.is_file():
        reason = f"official FHIR examples not found at {EXAMPLES_DIR}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return orjson.loads(full.read_bytes())  # type: ignore[no-any-return]
