"""`cxhub enrichment`: its choices are the store's statuses, and retry needs IDs or --all."""

from __future__ import annotations

from click.testing import CliRunner

from hub.cli import main
from hub.cli.enrichment import STATUSES
from hub.store import ENRICHMENT_STATUSES


def test_the_status_choices_are_the_stores():
    assert STATUSES == ENRICHMENT_STATUSES


def test_retry_needs_ids_or_all_but_not_both(tmp_path):
    config = tmp_path / "cxhub.yaml"
    config.write_text("sources: {}\n")
    for args in ([], ["some-id", "--all"]):
        result = CliRunner().invoke(main, ["enrichment", "retry", "--config", str(config), *args])
        assert result.exit_code == 2 and "name event IDs or pass --all" in result.output
