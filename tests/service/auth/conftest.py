"""The FHIR API's partner and token fixtures (see tests/service/fhir_api/fixtures.py)."""

from tests.service.fhir_api.fixtures import get_token, make_partner, mint, rsa_key, settings, world  # noqa: F401
from tests.service.web.conftest import web_case  # noqa: F401  (people who sign in, for the authorize endpoint)
