"""Mapping cost against fhir.resources' own round trip, measured on the same resources in one run.

Resources: the official R4 examples that carebridge maps (imported, so exports start from the
partner's JSON) plus records carebridge creates (plans, goals, referrals, handoffs, a stay). For
each, the baseline is `Model.model_validate(json)` + `model_dump_json()`. Printed, in resources
per second and as ratios to the baseline:

- export:                to_fhir_*(record).model_dump_json()            aim: <= 1.25x baseline cost
- import + validation:   validate(json), then from_fhir_*(json)         aim: <= 1.25x baseline cost
- export, fast path:     orjson.dumps(to_fhir_*_json(record))           aim: >= 5x faster than baseline
- import, fast path:     from_fhir_*(json), no validation               aim: >= 5x faster than baseline

    .venv/bin/python bench/mapping.py [--rounds 7] [--copies 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from fhir_mappings import (
    CarePlanData,
    CodeableConceptData,
    GoalData,
    HandoffData,
    Identifier,
    ReferralData,
    StayData,
    has_errors,
    validate,
)
from fhir_mappings.codec import ResourceMap
from fhir_mappings.roundtrip import MAPS

EXAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "fhir-examples" / "r4"
START = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def created_records(count: int) -> list[Any]:
    """Records as the service creates them: Scenario 1's SNF placement, `count` times over."""
    records: list[Any] = []
    for n in range(count):
        patient, stay = f"patient-{n}", f"stay-{n}"
        facilities = [f"Organization/snf-{n}-{i}" for i in range(3)]
        records += [
            StayData(
                id=stay,
                patient_id=patient,
                status="in-progress",
                hospital_org_id="hospital",
                admitted_at=START,
                unit="4 West",
                bed=f"{n % 40}",
                identifiers=(Identifier("https://carebridge.dev/fhir/identifier/stay", stay),),
            ),
            CarePlanData(
                id=f"plan-{n}",
                patient_id=patient,
                status="active",
                intent="plan",
                title="Discharge to skilled nursing",
                period_start=START.date(),
                addresses=(CodeableConceptData("http://snomed.info/sct", "5913000", "Fracture of neck of femur"),),
                goal_ids=(f"goal-{n}",),
                activity_refs=(f"ServiceRequest/referral-{n}", *(f"Task/handoff-{n}-{i}" for i in range(3))),
                stay_id=stay,
            ),
            GoalData(
                id=f"goal-{n}",
                patient_id=patient,
                description="Walk 50 ft with a walker before discharge",
                lifecycle_status="active",
                target_due_date=(START + dt.timedelta(days=4)).date(),
            ),
            ReferralData(
                id=f"referral-{n}",
                patient_id=patient,
                service_code="snf_placement",
                status="active",
                intent="order",
                stay_id=stay,
                reason="Needs SNF bed",
                requester_ref="Practitioner/planner",
                performer_refs=tuple(facilities),
                authored_on=START,
            ),
            *(
                HandoffData(
                    id=f"handoff-{n}-{i}",
                    patient_id=patient,
                    kind="referral_decision",
                    status=("rejected", "requested", "accepted")[i],
                    owner_ref=facility,
                    requester_ref="Organization/hospital",
                    referral_id=f"referral-{n}",
                    stay_id=stay,
                    business_status=CodeableConceptData(text="bed offered") if i == 2 else None,
                    due_at=START + dt.timedelta(days=1),
                    authored_on=START,
                    notes=("Sent with therapy notes",),
                )
                for i, facility in enumerate(facilities)
            ),
        ]
    return records


def imported_records(copies: int) -> list[Any]:
    """The official examples carebridge maps, imported `copies` times each."""
    examples = [orjson.loads(p.read_bytes()) for p in sorted(EXAMPLES.glob("*.json"))] if EXAMPLES.is_dir() else []
    return [MAPS[e["resourceType"]].from_json(e) for e in examples if e["resourceType"] in MAPS] * copies


def best_rate(run: Callable[[], None], items: int, rounds: int) -> float:
    """Items per second of the fastest of `rounds` runs (the least disturbed by other load)."""
    fastest = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        fastest = min(fastest, time.perf_counter() - started)
    return items / fastest


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--copies", type=int, default=20, help="copies of each example and of Scenario 1")
    args = parser.parse_args(argv)

    records = imported_records(args.copies) + created_records(args.copies)
    by_record_type = {m.data_type: m for m in MAPS.values()}
    maps: list[ResourceMap[Any, Any]] = [by_record_type[type(r)] for r in records]
    resources = [m.to_json(r) for m, r in zip(maps, records, strict=True)]
    pairs = list(zip(maps, records, strict=True))
    inputs = list(zip(maps, resources, strict=True))
    count = len(records)

    def baseline() -> None:
        for m, resource in inputs:
            m.model.model_validate(resource).model_dump_json()

    def export() -> None:
        for m, record in pairs:
            m.to_model(record).model_dump_json()

    def export_fast() -> None:
        for m, record in pairs:
            orjson.dumps(m.to_json(record))

    def import_validated() -> None:
        for m, resource in inputs:
            if not has_errors(validate(resource)):
                m.from_json(resource)

    def import_fast() -> None:
        for m, resource in inputs:
            m.from_json(resource)

    runs = {
        "baseline": ("baseline: model_validate + model_dump_json", baseline),
        "export": ("export: to_fhir_*() + model_dump_json", export),
        "import": ("import: validate() + from_fhir_*()", import_validated),
        "export_fast": ("export fast path: to_fhir_*_json() + orjson", export_fast),
        "import_fast": ("import fast path: from_fhir_*(), no validation", import_fast),
    }
    rate = {key: best_rate(run, count, args.rounds) for key, (_, run) in runs.items()}
    print(f"{count} resources: {len(imported_records(1))} official examples and Scenario 1, x {args.copies}")
    for key, (label, _) in runs.items():
        print(f"  {label:<48} {rate[key]:>10,.0f} resources/s")
    print("ratios (aim):")
    print(f"  export cost / baseline cost          {rate['baseline'] / rate['export']:6.2f}  (<= 1.25)")
    print(f"  import+validation cost / baseline    {rate['baseline'] / rate['import']:6.2f}  (<= 1.25)")
    print(f"  export fast path speed-up            {rate['export_fast'] / rate['baseline']:6.1f}x (>= 5)")
    print(f"  import fast path speed-up            {rate['import_fast'] / rate['baseline']:6.1f}x (>= 5)")


if __name__ == "__main__":
    main()
