"""engine.observations: series to observations, and label sets that collide once the
metric name is dropped (Prometheus refuses to evaluate such a rule; so does the engine)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.api.alertpolicy import AlertPolicySpec
from watchkeeper.engine.observations import DuplicateSeries, observations

FIXED = AlertPolicySpec.model_validate(
    {"query": "x", "thresholds": [{"severity": "Warning", "value": 1}]}
)
ADAPTIVE = AlertPolicySpec.model_validate(
    {
        "query": "x",
        "adaptive": {"window": "1h", "deviations": [{"severity": "Warning", "value": 3}]},
    }
)


def test_the_metric_name_is_dropped_and_distinct_series_kept() -> None:
    found = observations(
        FIXED, [({"__name__": "a", "job": "x"}, 1.0), ({"__name__": "a", "job": "y"}, 2.0)]
    )
    assert [(dict(o.labels), o.value) for o in found] == [({"job": "x"}, 1.0), ({"job": "y"}, 2.0)]


@pytest.mark.parametrize("spec", [FIXED, ADAPTIVE], ids=["fixed", "adaptive"])
def test_series_that_differ_only_by_name_are_refused(spec: AlertPolicySpec) -> None:
    series = [
        ({"__name__": "errors", "job": "api"}, 1.0),
        ({"__name__": "failures", "job": "api"}, 2.0),
        ({"__name__": "errors", "job": "web"}, 3.0),
    ]
    with pytest.raises(DuplicateSeries) as caught:
        observations(spec, series)
    assert caught.value.label_sets == ({"job": "api"},)
    assert caught.value.reason == "DuplicateSeries"
    assert '{job="api"}' in str(caught.value)
    assert "web" not in str(caught.value)


def test_the_message_escapes_values_and_stays_short() -> None:
    series = [({"__name__": n, "v": f'a"{i}ü'}, 0.0) for i in range(10) for n in ("a", "b")]
    with pytest.raises(DuplicateSeries) as caught:
        observations(FIXED, series)
    assert len(caught.value.label_sets) == 10
    message = str(caught.value)
    assert '{v="a\\"0ü"}' in message
    assert "and 7 more" in message


def test_a_duplicated_baseline_is_refused_too() -> None:
    baseline = [({"job": "api"}, 1.0), ({"__name__": "x", "job": "api"}, 1.0)]
    with pytest.raises(DuplicateSeries):
        observations(ADAPTIVE, [({"job": "api"}, 1.0)], baseline, [({"job": "api"}, 1.0)])


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b"]),
            st.dictionaries(st.sampled_from("xyz"), st.text(max_size=2)),
        ),
        max_size=8,
    )
)
def test_either_every_series_is_observed_or_the_collision_is_reported(rows) -> None:
    series = [({"__name__": name, **labels}, 1.0) for name, labels in rows]
    distinct = {tuple(sorted(labels.items())) for _, labels in rows}
    try:
        found = observations(FIXED, series)
    except DuplicateSeries as error:
        assert len(distinct) < len(rows)
        assert error.label_sets and all(
            sum(labels == dup for _, labels in rows) > 1 for dup in error.label_sets
        )
    else:
        assert len(found) == len(rows) == len(distinct)
