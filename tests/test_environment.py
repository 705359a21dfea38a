"""The project's set-up files agree with each other and with the environment the tests run in."""
from __future__ import annotations

import importlib.metadata
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

import workbench

REPO = Path(__file__).resolve().parents[1]
README_TEST_COMMAND = "bash scripts/workbench.sh test"


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _minimum(requirement: Requirement) -> str | None:
    """The version of a bare `>=` bound, None for no bound; anything else is a mistake here."""
    specifiers = list(requirement.specifier)
    if not specifiers:
        return None
    assert len(specifiers) == 1 and specifiers[0].operator == ">=", (
        f"{requirement}: give dependencies a single minimum version (>=), so conda and pip read them alike"
    )
    return specifiers[0].version


def pyproject_minimums() -> dict[str, str | None]:
    requirements = [Requirement(r) for r in _pyproject()["project"]["dependencies"]]
    return {canonicalize_name(r.name): _minimum(r) for r in requirements}


_CONDA_SPEC = re.compile(r"^([A-Za-z0-9_.\-]+)\s*(?:>=\s*([0-9][0-9A-Za-z.]*))?$")


def environment_minimums() -> tuple[dict[str, str | None], str | None]:
    """(dependencies other than python and pip, python's minimum) from environment.yml."""
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    found: dict[str, str | None] = {}
    python = None
    for entry in environment["dependencies"]:
        assert isinstance(entry, str), f"environment.yml: unexpected entry {entry!r} (a pip: section?)"
        match = _CONDA_SPEC.match(entry.strip())
        assert match, f"environment.yml: {entry!r} is not 'name' or 'name>=version'"
        name, minimum = canonicalize_name(match.group(1)), match.group(2)
        if name == "python":
            python = minimum
        elif name != "pip":
            found[name] = minimum
    return found, python


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    conda, _ = environment_minimums()
    pip = pyproject_minimums()
    assert sorted(conda) == sorted(pip), "names differ between environment.yml and pyproject.toml"
    for name in pip:
        assert conda[name] == pip[name], f"{name}: environment.yml wants {conda[name]}, pyproject.toml {pip[name]}"


def test_environment_yml_asks_for_the_same_python():
    _, python = environment_minimums()
    requires = _pyproject()["project"]["requires-python"]
    assert requires == f">={python}"


def test_the_installed_packages_meet_the_minimum_versions():
    for name, minimum in pyproject_minimums().items():
        installed = Version(importlib.metadata.version(name))
        if minimum is not None:
            assert installed >= Version(minimum), f"{name} {installed} is older than the minimum {minimum}"


def test_the_test_extra_is_installed():
    for requirement in _pyproject()["project"]["optional-dependencies"]["test"]:
        importlib.metadata.version(Requirement(requirement).name)  # raises when missing


def test_the_package_version_is_the_installed_distribution_version():
    assert importlib.metadata.version("tls-workbench") == workbench.__version__
    Version(workbench.__version__)  # a valid PEP 440 version


def test_the_console_script_points_at_the_cli():
    assert _pyproject()["project"]["scripts"] == {"tls-workbench": "workbench.cli:main"}


def test_every_marker_the_suite_uses_is_declared(pytestconfig):
    declared = {line.split(":")[0].strip() for line in pytestconfig.getini("markers")}
    assert {"interop", "capture", "browser", "slow"} <= declared


def test_the_timeout_per_test_is_set(pytestconfig):
    assert float(pytestconfig.getini("timeout")) == 300


def test_ci_runs_the_test_command_the_readme_gives():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    assert README_TEST_COMMAND in readme
    commands = [line.strip() for line in ci.splitlines() if line.strip().startswith("bash scripts/")]
    assert commands == [README_TEST_COMMAND]


def test_the_makefile_delegates_to_the_script():
    makefile = (REPO / "Makefile").read_text()
    for target in ("lab", "test"):
        assert re.search(rf"^{target}:\n\tbash scripts/workbench\.sh {target}\b", makefile, re.MULTILINE)


@pytest.mark.parametrize("script", ["scripts/workbench.sh", ".ci/run"])
def test_shell_scripts_parse(script):
    result = subprocess.run(["bash", "-n", str(REPO / script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_script_refuses_an_unknown_command():
    result = subprocess.run(["bash", str(REPO / "scripts/workbench.sh"), "no-such-command"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "scripts/workbench.sh test" in result.stdout


def test_ci_turns_no_tests_collected_into_success(tmp_path):
    """.ci/run with a stand-in workbench.sh that exits like pytest with nothing collected."""
    (tmp_path / ".ci").mkdir()
    (tmp_path / "scripts").mkdir()
    (tmp_path / ".ci" / "run").write_text((REPO / ".ci" / "run").read_text())
    for code, expected in ((5, 0), (1, 1), (0, 0)):
        (tmp_path / "scripts" / "workbench.sh").write_text(f"exit {code}\n")
        result = subprocess.run(["bash", str(tmp_path / ".ci" / "run")], capture_output=True, text=True, timeout=30)
        assert result.returncode == expected, (code, result.stdout, result.stderr)
        assert ("no tests" in result.stdout) == (code == 5)
