"""Keeping carebridge in step with partners' FHIR servers (hospital EHRs, payers).

- `pull`: incremental by a ``_lastUpdated`` watermark per partner and type; one transaction per page.
- `incoming`: idempotent upserts of pulled resources through the use cases (stays, discharge, handoffs).
- `outbox`: the partner outbox consumer (ChangeEvent -> Delivery rows) and row claiming with leases.
- `push`: delivery of claimed rows: conditional create, If-Match update, merge or conflict, dead letter.
- `outgoing`: a record as a partner receives it: the FHIR API's rendering (`service.fhir_bridge`) in its terms.
- `merge`: the pure three-way merge used when both sides changed a resource.
- `capability`: what a partner accepts, from its CapabilityStatement.
- `connection`: a FhirClient for a registered partner.
- `status`: what `carebridge sync status` shows.
"""
