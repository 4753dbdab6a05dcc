"""Who is calling and what they may do: SMART scopes, access tokens, the access policy and the access audit.

- `scopes`: SMART v1/v2 scope grammar -> `ScopeSet.allows(resource_type, interaction)`.
- `context`: `AccessContext` (the verified caller) and `current_access()`.
- `policy`: the one access policy: scopes, patient context, tenancy (SQL filters), writes, Task moves.
- `tokens`: carebridge's own access tokens (issue/verify) and tokens of trusted external issuers.
- `token_endpoint`: the SMART Backend Services token endpoint (RFC 7523 client assertions).
- `audit`: `record_access(...)`, one AuditEvent row per access to patient data.
"""
