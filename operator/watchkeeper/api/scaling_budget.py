"""What a ScalingPolicy's replicas cost and what it may spend: `cost` (per replica, or a
PromQL query of the workload's hourly cost) and `budget` (hourly or monthly). Amounts of
money are parsed once into Decimals (`Money`); a monthly budget is 730 hours' worth."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema, field_validator

from .alertpolicy import Routing
from .common import WatchkeeperModel, cel

HOURS_PER_MONTH = Decimal(730)
"""365 * 24 / 12, the month of cloud price lists."""
MONEY_MAX = Decimal(10**9)
_MONEY_RE = re.compile(r"^[0-9]{1,10}(\.[0-9]{1,6})?$")
_MONEY_WORDS = (
    "a whole number or a decimal string (up to 6 decimals, e.g. '0.35') more than 0 and at most 1e9"
)
_MONEY_RULE = (
    "type(self) == string ? (self.matches('^[0-9]{1,10}([.][0-9]{1,6})?$') && "
    "double(self) > 0.0 && double(self) <= 1e9) : (self > 0 && self <= 1000000000)"
)


def _money(value: Any) -> Decimal:
    """An amount as written (a whole number or a decimal string), as a Decimal."""
    written = isinstance(value, str) and _MONEY_RE.fullmatch(value)
    whole = isinstance(value, int) and not isinstance(value, bool)
    if not (written or whole) or not Decimal(0) < Decimal(value) <= MONEY_MAX:
        raise ValueError(f"must be {_MONEY_WORDS}, not {value!r}")
    return Decimal(value)


Money = Annotated[
    Decimal,
    BeforeValidator(_money),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "x-kubernetes-int-or-string": True,
            "maxLength": 17,
            "x-kubernetes-validations": [cel(_MONEY_RULE, f"must be {_MONEY_WORDS}")],
        }
    ),
]
"""An amount of money, in whatever currency the user counts in: a whole number or a decimal
string, as Kubernetes writes quantities in custom resources (an unquoted 0.35 is a float,
which the API server refuses: quote it)."""


class Cost(WatchkeeperModel):
    """What the workload's replicas cost."""

    exactly_one_of = (("per_replica_hourly", "query"),)

    per_replica_hourly: Money | None = Field(
        default=None, description="What one replica costs per hour, e.g. '0.35'."
    )
    query: str | None = Field(
        default=None,
        min_length=1,
        max_length=16384,
        description="PromQL returning the workload's cost per hour (its series are added up), "
        "e.g. from OpenCost's metrics; divided by the current replicas, it is the cost of one.",
    )


DEFAULT_WARNINGS = (75, 90)


class Budget(WatchkeeperModel):
    """What the workload may spend: the policy never sets more replicas than this pays for
    (minReplicas wins)."""

    exactly_one_of = (("hourly", "monthly"),)

    hourly: Money | None = Field(default=None, description="The budget per hour.")
    monthly: Money | None = Field(default=None, description="The budget per month of 730 hours.")
    warnings: list[Annotated[int, Field(ge=1, le=100)]] = Field(
        default_factory=lambda: list(DEFAULT_WARNINGS),
        max_length=10,
        description="Percentages of the budget, in any order, each once: while the spend "
        "reaches one, a Warning Alert of the policy fires (it resolves below).",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    routing: Routing | None = Field(
        default=None,
        description="Where the warning Alerts' notifications go, as an AlertPolicy's routing; "
        "unset: nowhere (the Alerts still show).",
    )

    @field_validator("warnings")
    @classmethod
    def _once_each(cls, warnings: list[int]) -> list[int]:
        if len(set(warnings)) != len(warnings):
            raise ValueError("warnings must not repeat")
        return sorted(warnings)

    @property
    def per_hour(self) -> Decimal:
        """The budget as an amount per hour."""
        if self.hourly is not None:
            return self.hourly
        assert self.monthly is not None  # exactly one of them
        return self.monthly / HOURS_PER_MONTH


BUDGET_NEEDS_COST = "budget needs cost: what a replica costs decides how many it pays for"
BUDGET_RULE = cel("!has(self.budget) || has(self.cost)", BUDGET_NEEDS_COST, ".budget")


class BudgetStatus(WatchkeeperModel):
    """The spend against the budget at this evaluation."""

    per_replica_hourly: str | None = Field(
        default=None,
        description="What one replica costs per hour (a cost query's result divided by the "
        "current replicas; the last known when the query fails); unset when unknown.",
    )
    spend_per_hour: str | None = Field(
        default=None, description="Per-replica cost times the replicas the policy sets now."
    )
    budget_per_hour: str | None = Field(default=None, description="The budget per hour.")
    percent_used: float | None = Field(
        default=None, description="Spend per hour as a percentage of the budget per hour."
    )
    max_replicas: int | None = Field(
        default=None, description="The most replicas the budget pays for."
    )
    capped_from: int | None = Field(
        default=None, description="What the policy would set without the budget, when capped."
    )
    capped_to: int | None = Field(default=None, description="What it sets instead.")
    warnings: list[int] = Field(
        default_factory=list, description="The spec's warning percentages reached now."
    )
