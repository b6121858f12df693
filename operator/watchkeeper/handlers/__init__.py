"""kopf wiring: parse -> engine -> execute effects -> write status. Thin."""
