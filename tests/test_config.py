import os
import subprocess
import sys

import numpy as np
import pytest

import causalrec_tutorial as crt
from causalrec_tutorial import config


def test_paths_follow_environment_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("CAUSALREC_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.delenv("CAUSALREC_CACHE_DIR", raising=False)
    assert config.data_dir() == (tmp_path / "d").resolve()
    assert config.assets_dir() == (tmp_path / "d" / "assets").resolve()
    assert config.cache_dir() == (tmp_path / "d" / "cache").resolve()
    monkeypatch.setenv("CAUSALREC_CACHE_DIR", str(tmp_path / "c"))
    assert config.cache_dir() == (tmp_path / "c").resolve()


def test_default_data_dir_is_in_the_repository(monkeypatch):
    monkeypatch.delenv("CAUSALREC_DATA_DIR", raising=False)
    assert config.data_dir() == config.PROJECT_DIR / "data"


@pytest.mark.parametrize("value, expected", [("full", "full"), ("smoke", "smoke"), (" SMOKE ", "smoke")])
def test_mode_switch(monkeypatch, value, expected):
    monkeypatch.setenv("CAUSALREC_MODE", value)
    assert config.mode() == expected
    assert config.by_mode(100, 10) == (10 if expected == "smoke" else 100)


def test_unknown_mode_raises_naming_valid_values(monkeypatch):
    monkeypatch.setenv("CAUSALREC_MODE", "fast")
    with pytest.raises(ValueError, match="full.*smoke"):
        config.mode()


@pytest.mark.parametrize("seed", [-1, 1.5, "7", True])
def test_setup_notebook_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="seed"):
        crt.setup_notebook(seed=seed, keras=False, verbose=False)


def test_setup_notebook_returns_a_seeded_generator(capsys):
    a = crt.setup_notebook(seed=3, keras=False).random(5)
    b = crt.setup_notebook(seed=3, keras=False, verbose=False).random(5)
    np.testing.assert_array_equal(a, b)
    out = capsys.readouterr().out
    assert "seed=3" in out and "numpy" in out


def test_importing_the_package_quiets_tensorflow_and_keras_setup_is_deterministic():
    """In a fresh process: env vars set before TF import, no stderr noise, and seeded Keras is reproducible."""
    code = (
        "import os, causalrec_tutorial as crt\n"
        "assert os.environ['TF_CPP_MIN_LOG_LEVEL'] == '3' and os.environ['TF_ENABLE_ONEDNN_OPTS'] == '0'\n"
        "keras = crt.config.import_keras()\n"
        "vals = []\n"
        "for _ in range(2):\n"
        "    crt.setup_notebook(seed=11, verbose=False)\n"
        "    vals.append(float(keras.layers.Dense(3)(keras.ops.ones((1, 4))).numpy().sum()))\n"
        "assert vals[0] == vals[1], vals\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "KERAS_"))}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert result.stderr.strip() == "", result.stderr


def test_setup_notebook_does_not_change_state_at_import():
    code = "import matplotlib as m; r = dict(m.rcParams); import causalrec_tutorial; assert dict(m.rcParams) == r"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_as_rng_accepts_generators_and_seeds_only():
    g = np.random.default_rng(1)
    assert config.as_rng(g) is g
    np.testing.assert_array_equal(config.as_rng(5).random(3), np.random.default_rng(5).random(3))
    for bad in (-1, 1.5, True, None, "7"):
        with pytest.raises(ValueError, match="rng must be"):
            config.as_rng(bad)
