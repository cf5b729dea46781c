"""environment.yml says the same as pyproject.toml, and every dependency is bounded."""

import subprocess
import sys
import tomllib

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from causalrec_tutorial import config

ROOT = config.PROJECT_DIR


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _pyproject_requirements():
    project = _pyproject()["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return {Requirement(r).name.lower(): Requirement(r) for r in reqs}


def _environment():
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def _environment_pip_lines():
    deps = _environment()["dependencies"]
    pip = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert len(pip) == 1, "environment.yml needs exactly one pip: section"
    return pip[0]


def test_environment_python_satisfies_requires_python():
    conda = [d for d in _environment()["dependencies"] if isinstance(d, str)]
    python = [d for d in conda if d.startswith("python")]
    assert python == ["python=3.11"]
    assert "pip" in conda
    requires = SpecifierSet(_pyproject()["project"]["requires-python"])
    assert Version("3.11") in requires


def test_environment_installs_the_project_with_dev_extra():
    assert "-e .[dev]" in _environment_pip_lines()


def test_environment_pip_requirements_equal_pyproject():
    env = {
        Requirement(line).name.lower(): Requirement(line)
        for line in _environment_pip_lines()
        if not line.startswith("-")
    }
    project = _pyproject_requirements()
    assert set(env) == set(project), f"only in environment.yml: {set(env) - set(project)}; only in pyproject: {set(project) - set(env)}"
    for name, req in project.items():
        assert env[name].specifier == req.specifier, f"{name}: pyproject {req.specifier} != environment.yml {env[name].specifier}"


@pytest.mark.parametrize("name", sorted(_pyproject_requirements()))
def test_every_dependency_is_bounded(name):
    spec = _pyproject_requirements()[name].specifier
    operators = {s.operator for s in spec}
    assert operators & {">=", ">", "~=", "=="}, f"{name} has no lower bound"
    assert operators & {"<", "<=", "~=", "=="}, f"{name} has no upper bound"
    assert "==" not in operators, f"{name} is pinned exactly; use bounds in pyproject"


def test_environment_pip_side_resolves_in_this_environment():
    """`pip install --dry-run` resolves environment.yml's pip requirements against what is installed (no index)."""
    lines = [line for line in _environment_pip_lines() if not line.startswith("-")]
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--quiet", *lines],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
