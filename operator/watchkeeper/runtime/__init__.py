"""The long-running machinery: one scheduler, the services it runs (evaluate, notify,
escalate, scale, readiness), the in-memory view of watched objects and leadership."""
