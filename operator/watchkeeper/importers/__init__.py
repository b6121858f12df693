"""Conversions into Watchkeeper's kinds (Prometheus alerting rules, HPAs): pure, they
print manifests and what could not be carried over, and never touch a cluster."""
