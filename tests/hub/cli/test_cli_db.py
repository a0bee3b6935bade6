"""`cxhub db current` and `cxhub db upgrade`, on an empty database and on one from the previous release."""

from __future__ import annotations

from click.testing import CliRunner

from hub.cli import main
from hub.store.schema import BASELINE, head
from tests.hub.store.legacy import legacy_store


def cxhub(*args: str, code: int = 0, env: dict | None = None) -> str:
    result = CliRunner().invoke(main, list(args), env={"DATABASE_URL": None, "CXHUB_CONFIG": None, **(env or {})},
                                catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def test_an_empty_database_is_not_at_the_head_until_upgraded(empty_database_url):
    assert cxhub("db", "current", "--database-url", empty_database_url, code=1) == (
        f"no schema; the head is {head()}: run cxhub db upgrade\n")
    upgraded = cxhub("db", "upgrade", "--database-url", empty_database_url)
    assert upgraded == f"upgraded from no schema to {head()} (head)\n"
    assert cxhub("db", "current", "--database-url", empty_database_url) == f"{head()} (head)\n"
    assert cxhub("db", "upgrade", "--database-url", empty_database_url) == f"already at {head()} (head)\n"


def test_a_store_from_before_migrations_is_recognised_and_upgraded(empty_database_url):
    legacy_store(empty_database_url)
    before = cxhub("db", "current", env={"DATABASE_URL": empty_database_url}, code=1)
    legacy = f"no revision (tables from before migrations: {BASELINE})"
    assert before == f"{legacy}; the head is {head()}: run cxhub db upgrade\n"
    upgraded = cxhub("db", "upgrade", env={"DATABASE_URL": empty_database_url})
    assert upgraded == f"upgraded from {legacy} to {head()} (head)\n"


def test_the_embedded_sqlite_file_is_found_in_the_data_dir_without_a_config(tmp_path):
    """No config file and no secrets are needed: only where the database is."""
    assert cxhub("db", "upgrade", "--data-dir", str(tmp_path)).endswith(f"to {head()} (head)\n")
    assert (tmp_path / "cxhub.db").exists()
    assert cxhub("db", "current", env={"CXHUB_DATA_DIR": str(tmp_path)}) == f"{head()} (head)\n"


def test_an_unreachable_database_is_a_clear_error():
    output = cxhub("db", "current", "--database-url", "postgresql://cxhub@127.0.0.1:1/none", code=1)
    assert output == "Error: the database is unavailable: OperationalError\n"
