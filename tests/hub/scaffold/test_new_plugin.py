"""`cxhub new-plugin` writes a package that installs through the entry point and whose tests pass unchanged."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from hub.cli import main
from tests.conftest import pip_install, run

EXAMPLE = Path(__file__).parents[3] / "examples" / "cxhub-acme"
VARIANTS = {"both": ([], {"inbound.py", "actions.py"}), "src": (["--source"], {"inbound.py"}),
            "act": (["--action"], {"actions.py"})}


def new_plugin(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["new-plugin", *args])
    return result.exit_code, result.output


def test_every_variant_installs_is_listed_and_passes_its_own_tests(tmp_path, plugin_venv):
    projects = []
    for suffix, (flags, files) in VARIANTS.items():
        code, output = new_plugin(f"gen_{suffix}", *flags, "--dir", str(tmp_path))
        assert code == 0, output
        project = tmp_path / f"cxhub-gen-{suffix}"
        assert {path.name for path in (project / f"cxhub_gen_{suffix}").iterdir()} == {"__init__.py", "settings.py",
                                                                                         *files}
        pip_install(plugin_venv, project)
        projects.append(project)

    listed = run([plugin_venv, "-m", "hub.cli", "plugins"])
    names = {line.split()[0] for line in listed.stdout.splitlines()[1:]}
    assert {"gen_both", "gen_src", "gen_act"} <= names
    for project in projects:
        tests = run([plugin_venv, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=project)
        assert " passed" in tests.stdout and "failed" not in tests.stdout


def test_the_shipped_example_is_what_the_template_makes_today(tmp_path):
    new_plugin("acme", "--dir", str(tmp_path))
    generated = {path.relative_to(tmp_path / "cxhub-acme"): path.read_text() for path in
                 (tmp_path / "cxhub-acme").rglob("*") if path.is_file()}
    shipped = {path.relative_to(EXAMPLE): path.read_text() for path in EXAMPLE.rglob("*")
               if path.is_file() and "__pycache__" not in path.parts and ".egg-info" not in str(path)}
    assert generated == shipped, "regenerate it: rm -r examples/cxhub-acme && cxhub new-plugin acme --dir examples"


def test_bad_names_and_existing_folders_are_refused(tmp_path):
    code, output = new_plugin("Bad-Name")
    assert code == 1 and "plugin names are 2-31 characters" in output
    new_plugin("twice", "--dir", str(tmp_path))
    code, output = new_plugin("twice", "--dir", str(tmp_path))
    assert code == 1 and "already exists" in output
