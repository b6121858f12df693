"""Reading Prometheus-format ``/metrics`` endpoints: kube-apiserver's (through the admin
client certificate), Prometheus's own, the operator's.

Samples are kept as ``{(name, labels): value}``; :func:`delta` subtracts two snapshots so a
benchmark can report what happened in a window (counters, histogram buckets and sums).
"""

from __future__ import annotations

import math
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

from devenv.certs import ClusterCerts

Labels = tuple[tuple[str, str], ...]
SampleKey = tuple[str, Labels]
Samples = dict[SampleKey, float]

# verbs of apiserver_request_total that change something
WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION", "APPLY"})


def parse_metrics(text: str) -> Samples:
    """Every sample of an exposition, keyed by sample name and sorted labels."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)
    return samples


def scrape(url: str, verify: ssl.SSLContext | bool = True, timeout: float = 10.0) -> Samples:
    """GET ``url`` and parse it."""
    response = httpx.get(url, verify=verify, timeout=timeout)
    response.raise_for_status()
    return parse_metrics(response.text)


def admin_tls(certs: ClusterCerts) -> ssl.SSLContext:
    """A TLS context that trusts the cluster CA and presents the admin client certificate."""
    context = ssl.create_default_context(cafile=str(certs.ca.cert))
    context.load_cert_chain(str(certs.admin.cert), str(certs.admin.key))
    return context


def apiserver_metrics(server: str, certs: ClusterCerts) -> Samples:
    """kube-apiserver's ``/metrics`` (needs the admin's ``system:masters`` rights)."""
    return scrape(f"{server}/metrics", admin_tls(certs), timeout=30.0)


def delta(before: Samples, after: Samples) -> Samples:
    """``after - before`` per sample (a sample new in ``after`` counts from zero)."""
    return {key: value - before.get(key, 0.0) for key, value in after.items()}


def select(samples: Samples, name: str, **match: str) -> dict[Labels, float]:
    """The samples called ``name`` whose labels include ``match``."""
    return {
        labels: value
        for (sample, labels), value in samples.items()
        if sample == name and all(dict(labels).get(k) == v for k, v in match.items())
    }


def total(samples: Samples, name: str, **match: str) -> float:
    """The sum of :func:`select`; 0 when there is no such sample."""
    return sum(select(samples, name, **match).values())


def has(samples: Samples, name: str) -> bool:
    """Whether any sample is called ``name``."""
    return any(sample == name for sample, _ in samples)


@dataclass(frozen=True)
class ApiRequest:
    """One (verb, resource, code) cell of ``apiserver_request_total``."""

    verb: str
    group: str
    resource: str
    subresource: str
    code: str

    @property
    def write(self) -> bool:
        return self.verb in WRITE_VERBS

    @property
    def kind(self) -> str:
        """``resource[/subresource].group`` for display."""
        name = self.resource + (f"/{self.subresource}" if self.subresource else "")
        return f"{name}.{self.group}" if self.group else name


def api_requests(samples: Samples) -> dict[ApiRequest, float]:
    """``apiserver_request_total`` by verb, group, resource, subresource and code."""
    counts: dict[ApiRequest, float] = {}
    for labels, value in select(samples, "apiserver_request_total").items():
        found = dict(labels)
        key = ApiRequest(
            verb=found.get("verb", ""),
            group=found.get("group", ""),
            resource=found.get("resource", ""),
            subresource=found.get("subresource", ""),
            code=found.get("code", ""),
        )
        counts[key] = counts.get(key, 0.0) + value
    return counts


def histogram_quantile(
    quantile: float, buckets: Mapping[float, float] | Iterable[tuple[float, float]]
) -> float | None:
    """Prometheus's ``histogram_quantile`` over cumulative ``{upper bound: count}``.

    None when the histogram is empty. Linear interpolation inside a bucket, the lower
    bound of the first bucket being 0; a quantile in the +Inf bucket is the highest
    finite bound, as Prometheus does.
    """
    pairs = sorted(dict(buckets).items())
    if not pairs or pairs[-1][1] <= 0:
        return None
    rank = quantile * pairs[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in pairs:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound


def buckets(samples: Samples, name: str, **match: str) -> dict[float, float]:
    """The cumulative buckets of histogram ``name`` (``NAME_bucket``), summed over series."""
    found: dict[float, float] = {}
    for labels, value in select(samples, f"{name}_bucket", **match).items():
        bound = float(dict(labels)["le"])
        found[bound] = found.get(bound, 0.0) + value
    return found
