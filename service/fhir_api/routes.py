"""The FHIR interactions served on `bp` (imported by `register_fhir_api`)."""
