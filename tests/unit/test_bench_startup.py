"""bench.startup tells its runs apart, so one run's cleanup never touches another's."""

from __future__ import annotations

from bench.startup import RAW_LABEL, make_pod, new_run


def test_each_run_has_its_own_node_and_raw_label_value() -> None:
    first, second = new_run(), new_run()
    assert first.node != second.node
    assert first.raw_filter != second.raw_filter
    assert first.raw_filter == {"label": f"{RAW_LABEL}={first.run_id}"}
    assert first.node_filter == {"label": f"corral.node={first.node}"}


def test_pods_are_bound_to_the_runs_own_node() -> None:
    run = new_run()
    assert make_pod("single-0", run.node).spec.node_name == run.node
