"""Who is calling and what they may do: SMART scopes, access tokens, tenancy and the access audit.

- `scopes`: SMART v1/v2 scope grammar -> `ScopeSet.allows(resource_type, interaction)`.
- `context`: `AccessContext` (the verified caller) and `current_access()`.
- `tenancy`: which patients and rows an organisation may see, as SQL filters.
- `tokens`: carebridge's own access tokens (issue/verify) and tokens of trusted external issuers.
- `token_endpoint`: the SMART Backend Services token endpoint (RFC 7523 client assertions).
- `audit`: `record_access(...)`, one AuditEvent row per access to patient data.
"""
