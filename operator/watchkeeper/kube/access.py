"""What the operator may be pointed at: the opt-in markers that keep a namespace user from
borrowing the operator's rights.

A user who can write Watchkeeper objects names Secrets (credentials of a channel or a
Prometheus) and scale targets (a ScalingPolicy's targetRef). The operator has rights on
those objects that the user may lack: without a check, anyone with the `watchkeeper-edit`
role could make the operator read any Secret of the namespace and send it to a server of
their choice, or scale any workload. So the owner of the object opts in, with a label only
someone with update/patch rights on that object can set:

- a Secret is read only when labelled `watchkeeper.io/allow-reference: "true"`;
- a workload is scaled only when labelled `watchkeeper.io/allow-scaling: "true"` (setting
  it takes patch rights on the workload, which already imply scaling it).

`ReferencePolicy.ANY` (the operator's `--reference-policy=any`) turns the check off for
clusters where everyone who can write Watchkeeper objects is trusted with the namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

ALLOW_REFERENCE_LABEL = "watchkeeper.io/allow-reference"
"""On a Secret: the operator may read it when a Watchkeeper object references it."""
ALLOW_SCALING_LABEL = "watchkeeper.io/allow-scaling"
"""On a workload (anything with /scale): a ScalingPolicy may scale it."""
ALLOWED = "true"


class ReferencePolicy(StrEnum):
    """Which referenced Secrets and scale targets the operator uses."""

    LABEL = "label"
    """Only those that carry the opt-in label (the default)."""
    ANY = "any"
    """Any in the referencing object's namespace: every namespace user is trusted."""


DEFAULT_POLICY = ReferencePolicy.LABEL


def _opted_in(labels: Mapping[str, str] | None, label: str, policy: ReferencePolicy) -> bool:
    return policy is ReferencePolicy.ANY or (labels or {}).get(label) == ALLOWED


def secret_allowed(labels: Mapping[str, str] | None, policy: ReferencePolicy) -> bool:
    """Whether a Secret with these labels may be read."""
    return _opted_in(labels, ALLOW_REFERENCE_LABEL, policy)


def target_allowed(labels: Mapping[str, str] | None, policy: ReferencePolicy) -> bool:
    """Whether a workload with these labels may be scaled."""
    return _opted_in(labels, ALLOW_SCALING_LABEL, policy)


def secret_not_allowed(name: str) -> str:
    """Why a Secret is not used; names the Secret and the label, never a value."""
    return f"Secret {name} is not labelled {ALLOW_REFERENCE_LABEL}={ALLOWED}"


def target_not_allowed(kind: str, name: str) -> str:
    """Why a workload is not scaled."""
    return f"{kind} {name} is not labelled {ALLOW_SCALING_LABEL}={ALLOWED}"
