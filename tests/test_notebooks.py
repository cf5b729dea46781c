"""Structural checks of every chapter notebook (nbval itself re-executes them; see pyproject's addopts)."""

import json
import re

import pytest
import yaml

from causalrec_tutorial import config

ROOT = config.PROJECT_DIR
NOTEBOOKS = sorted(p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return files


def _code_cells(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    return nb, [c for c in nb["cells"] if c["cell_type"] == "code"]


def test_there_are_chapters():
    assert NOTEBOOKS, "no notebooks found in book/"


def test_toc_and_notebooks_agree():
    listed = _toc_files()
    for entry in listed:
        assert any((ROOT / entry).with_suffix(s).exists() for s in (".md", ".ipynb")), f"_toc.yml lists missing {entry}"
    for path in NOTEBOOKS:
        rel = str(path.relative_to(ROOT).with_suffix(""))
        assert rel in listed, f"{rel} is not in _toc.yml"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_are_clean(path):
    nb, cells = _code_cells(path)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert "setup_notebook" in "".join(cells[0]["source"]), "first code cell must call crt.setup_notebook()"
    for i, cell in enumerate(cells):
        src = "".join(cell["source"])
        assert not re.search(r"^\s*[!%]\s*pip\s+install", src, re.M), f"cell {i} installs packages"
        assert "../data" not in src, f"cell {i} uses a relative data path"
        assert cell.get("execution_count") is not None, f"cell {i} was not executed before saving"
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"cell {i} stores an error: {out.get('ename')}"
            assert not (out["output_type"] == "stream" and out["name"] == "stderr"), f"cell {i} wrote to stderr"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_key_numbers_are_checked_by_nbval(path):
    _, cells = _code_cells(path)
    checked = [c for c in cells if "".join(c["source"]).lstrip().startswith("# NBVAL_CHECK_OUTPUT")]
    assert checked, "mark the cells that print the chapter's key numbers with '# NBVAL_CHECK_OUTPUT'"
    assert all(c["outputs"] for c in checked), "a checked cell has no stored output to compare"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_has_exercises_with_solutions(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    exercises = set(re.findall(r"```\{exercise\}[^\n]*\n:label:\s*(\S+)", text))
    solutions = set(re.findall(r"```\{solution\}\s*(\S+)", text))
    assert len(exercises) >= 3, f"{path.name}: {len(exercises)} exercises, need >= 3"
    assert exercises <= solutions, f"exercises without solution: {exercises - solutions}"
