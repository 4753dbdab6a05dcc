"""Partner clients with real keys, tokens from carebridge's own token endpoint, a two-patient world."""

from tests.service.fhir_api.fixtures import get_token, make_partner, mint, rsa_key, settings, world  # noqa: F401
