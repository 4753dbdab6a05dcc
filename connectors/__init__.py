"""Outbound SMART-on-FHIR I/O to partner servers (EHRs, payers, post-acute providers).

Knows nothing of Flask, the database or marshmallow: everything comes in as explicit settings.

- `fhir_client.FhirClient`: read, vread, search (following ``next`` links), create (conditional),
  update (If-Match), batch, transaction, capabilities.
- `smart_auth`: discovery, `BackendServicesAuth` (client_credentials + private_key_jwt, token cache).
- `smart_launch`: EHR launch for clinicians (authorization code + PKCE S256, exchange, refresh).
- `keys`: RS384/ES384 signing keys as JWKs and the public JWK Set.
- `http.Transport`: pooled session, timeouts, retry of temporary failures only.
- `errors`: TemporaryError, PermanentError (NotSupported), Conflict, AuthFailed.
"""
