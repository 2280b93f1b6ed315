"""The write side: every mutation runs the same pipeline.

1. **plan** (``plan.py`` types; one planner module per mutation family): a pure
   function of the input and the cache (``plan.Store``) giving the objects to create,
   patch or delete, the warnings, and the user errors found without asking anyone.
2. **check**: every planned object is sent to the API server with ``dryRun=All`` *as
   the caller* (impersonation: user, groups, extra), so RBAC, admission and CRD
   validation decide; refusals become typed user errors.
3. **apply**: server-side apply as the caller, with the gateway's own field manager.
   If a later step fails, what this call changed is undone, so a user error always
   means nothing changed.
4. **answer** with the objects read back.

Idempotency records and anything else that must outlive a process live in
Kubernetes, never in process memory. Secret values are redacted in every plan,
payload, log line and audit entry.

``resolvers/reads`` never imports this package (an import-linter contract).
"""
