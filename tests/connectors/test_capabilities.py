from connectors.capabilities import parse_capability_statement


def interactions(*codes):
    return [{"code": c} for c in codes]


STATEMENT = {
    "resourceType": "CapabilityStatement",
    "fhirVersion": "4.0.1",
    "rest": [
        {
            "mode": "server",
            "interaction": interactions("transaction", "batch"),
            "resource": [
                {"type": "Task", "interaction": interactions("read", "search-type", "update")},
                {"type": "CarePlan", "interaction": interactions("read", "search-type")},
                {"type": "Patient"},
            ],
        },
        {"mode": "server", "resource": [{"type": "Task", "interaction": interactions("vread")}]},
        {"mode": "client", "resource": [{"type": "Goal", "interaction": interactions("create")}]},
    ],
}


def test_interactions_per_type_from_server_rest_entries():
    capabilities = parse_capability_statement(STATEMENT)

    assert capabilities.fhir_version == "4.0.1"
    assert capabilities.interactions["Task"] == {"read", "search-type", "update", "vread"}
    assert capabilities.system_interactions == {"transaction", "batch"}
    assert capabilities.supports("Task", "update")
    assert not capabilities.supports("Task", "create")  # Epic-style: no Task create
    assert not capabilities.supports("CarePlan", "create")
    assert not capabilities.supports("Patient", "read")  # listed without interactions
    assert not capabilities.supports("Goal", "create")  # only in a client-mode rest entry
    assert not capabilities.supports("Observation", "read")  # not listed at all


def test_empty_statement_supports_nothing():
    capabilities = parse_capability_statement({"resourceType": "CapabilityStatement"})

    assert capabilities.fhir_version is None
    assert not capabilities.supports("Task", "read")
