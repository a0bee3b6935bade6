"""The bench's table, from whatever scenarios ran (a partial run must still print)."""

from __future__ import annotations

from bench.report import table


def test_table_of_end_to_end_alone_shows_cpu_per_component_beside_e0() -> None:
    results = {"e0": {"sustained_per_s": 100.0, "best": {"cpu_ms_per_event": {"web": 1.0, "consumer": 2.0}}},
               "end_to_end": {"sustained_per_s": 75.0, "p50_ms": 15.0, "p99_ms": 90.0,
                              "held": {"cpu_ms_per_event": {"web": 2.0, "delivery": 4.0, "sink": 0.5}}}}
    shown = table(results)
    assert "| end to end: hub sustained (2 actions), held" in shown and "0.75" in shown
    assert "CPU per event: delivery" in shown
    row = next(line for line in shown.splitlines() if "all but sink and load" in line)
    assert "2.00" in row and "E0: 3.00" in row  # (2 + 4) / (1 + 2)


def test_table_of_no_results_is_only_the_header() -> None:
    assert len(table({}).splitlines()) == 2
