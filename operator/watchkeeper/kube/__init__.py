"""The only place our code talks to the Kubernetes API (kopf aside)."""
