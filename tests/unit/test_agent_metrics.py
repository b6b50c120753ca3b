"""Scraped application metrics: gauges as they are, counters as rates per second."""

from __future__ import annotations

from agent.metrics_sampler import custom_metrics, milli_quantity, parse_prometheus, rate_name

EXPOSITION = """
# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{code="200"} 100
http_requests_total{code="500"} 20
# TYPE queue_depth gauge
queue_depth 7.5
untyped_thing 3
"""


def test_series_are_summed_by_name_with_their_types() -> None:
    assert parse_prometheus(EXPOSITION) == {
        "http_requests_total": ("counter", 120.0),
        "queue_depth": ("gauge", 7.5),
        "untyped_thing": ("gauge", 3.0),
    }


def test_counters_become_rates_once_two_samples_exist() -> None:
    first = parse_prometheus(EXPOSITION)
    assert custom_metrics(first, None, 0) == {"queue_depth": "7500m", "untyped_thing": "3"}
    second = parse_prometheus(EXPOSITION.replace(" 100", " 250"))
    assert custom_metrics(second, first, 15)["http_requests_per_second"] == "10"
    assert rate_name("bytes_sent") == "bytes_sent_per_second"
    assert milli_quantity(12.5) == "12500m"
