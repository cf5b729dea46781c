"""The readiness check: it passes on a built machine, and on one with an asset removed it fails naming the fix."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from causalrec_tutorial import assets, config


def _run(env_changes: dict[str, str]) -> subprocess.CompletedProcess:
    env = dict(os.environ, **env_changes)
    return subprocess.run([sys.executable, "-m", "causalrec_tutorial.check"], capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.fixture(scope="module")
def built():
    """Skip unless set-up ran here (every asset, the converted Gemma preset, MathJax)."""
    missing = [n for n in assets.MANIFEST if not assets.verify(n).ok]
    if missing or not (config.data_dir() / "vendor" / "mathjax").is_dir():
        pytest.skip(f"this machine is not set up (missing: {missing or 'MathJax'}); make book first")
    if not list((config.cache_dir() / "models").glob("gemma3-270m-kerashub-*")):
        pytest.skip("the Gemma preset is not converted; make book first")


def test_the_check_passes_on_a_built_machine(built):
    done = _run({})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "READY: every check passed" in done.stdout
    assert "FAIL" not in done.stdout


def test_the_check_fails_with_the_fix_when_an_asset_is_missing(built, tmp_path):
    """A data folder like the real one but without the Open Bandit sample (the others are linked, not copied)."""
    data = tmp_path / "data"
    (data / "assets").mkdir(parents=True)
    for name in assets.MANIFEST:
        if name != "open_bandit":
            (data / "assets" / name).symlink_to(config.assets_dir() / name)
    (data / "vendor").symlink_to(config.data_dir() / "vendor")
    done = _run({"CAUSALREC_DATA_DIR": str(data), "CAUSALREC_CACHE_DIR": str(config.cache_dir())})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "NOT READY" in done.stdout
    assert "python -m causalrec_tutorial.assets fetch open_bandit" in done.stdout
    assert "ok   MiniLM" in done.stdout and "ok   Gemma" in done.stdout  # the rest is still checked
