"""The package's layout: the map in causalrec_tutorial/README.md matches the code, imports only go downward, no
module grows past ~800 lines, the public API is reachable through the subpackages, and the wheel ships its data."""

from __future__ import annotations

import ast
import importlib
import pathlib
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

PKG = pathlib.Path(__file__).resolve().parents[1] / "causalrec_tutorial"
MAX_LINES = 800


def _modules() -> dict[str, pathlib.Path]:
    """Dotted name (relative to the package) -> file, for every module that is not an ``__init__``."""
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        if path.name != "__init__.py":
            out[".".join(path.relative_to(PKG).with_suffix("").parts)] = path
    return out


def _map_rows() -> list[str]:
    """The modules in the order of the map's table (``world/shop.py`` -> ``world.shop``)."""
    text = (PKG / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\|[^|]*\|\s*`([\w/]+)\.py`\s*\|", text, re.M)
    return [r.replace("/", ".") for r in rows]


def _imports(path: pathlib.Path) -> set[str]:
    """Package-internal modules a file imports (at the top or inside functions), as names relative to the package;
    importing a subpackage counts as importing each of its modules."""
    mods = _modules()
    rel = path.relative_to(PKG).with_suffix("").parts
    here = list(rel[:-1])  # the package this module is in
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here[: len(here) - node.level + 1] + (node.module.split(".") if node.module else [])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("causalrec_tutorial"):
            base = node.module.split(".")[1:]
        else:
            continue
        named = {".".join(base + [a.name]) for a in node.names} & set(mods)  # ``from . import cache``
        found |= named
        package = ".".join(base)
        if package in mods:
            found.add(package)
        elif not named and package and (PKG / package.replace(".", "/")).is_dir():  # ``from ..world import X``
            found |= {m for m in mods if m.startswith(package + ".")}
    return found - {".".join(rel)}


def test_the_map_lists_every_module_once():
    rows = _map_rows()
    assert len(rows) == len(set(rows)), "a module is listed twice in causalrec_tutorial/README.md"
    assert set(rows) == set(_modules()), (
        f"map and code differ: not in the map {sorted(set(_modules()) - set(rows))}, "
        f"not in the code {sorted(set(rows) - set(_modules()))}"
    )


def test_imports_only_go_downward_in_the_maps_order():
    """Each module imports only modules listed above it in the map; a total order means no import cycle either."""
    order = {m: j for j, m in enumerate(_map_rows())}
    upward = []
    for name, path in _modules().items():
        for target in _imports(path):
            if order[target] >= order[name]:
                upward.append(f"{name} imports {target}")
    assert not upward, "imports that go up (or sideways) in the map: " + "; ".join(sorted(upward))


def test_the_import_parser_finds_top_level_and_lazy_imports():
    """The check above can fail: it sees relative and absolute imports, and those inside functions."""
    found = _imports(PKG / "world" / "shop.py")
    assert {"world.catalogue", "world.logs", "world.params", "_checks", "config", "columns"} <= found
    graphs = _imports(PKG / "causal" / "graphs.py")
    assert "plotting" in graphs  # a lazy import inside draw_dag


def test_no_file_of_the_package_exceeds_the_limit():
    long = {
        str(p.relative_to(PKG)): n
        for p in PKG.rglob("*")
        if p.is_file() and p.suffix in {".py", ".yaml", ".md"}
        and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"files over {MAX_LINES} lines: {long}"


@pytest.mark.parametrize("package", ["causal", "evaluate", "interest", "recommend", "world"])
def test_each_subpackage_reexports_its_modules_public_names(package):
    pkg = importlib.import_module(f"causalrec_tutorial.{package}")
    assert pkg.__all__ == sorted(set(pkg.__all__), key=pkg.__all__.index), "duplicate names in __all__"
    exported = set()
    for name in sorted(m for m in _modules() if m.startswith(package + ".")):
        mod = importlib.import_module(f"causalrec_tutorial.{name}")
        assert hasattr(mod, "__all__"), f"{name} has no __all__"
        doc = (mod.__doc__ or "").strip().splitlines()
        assert doc and "Book:" in (mod.__doc__ or ""), f"{name}: docstring must say what it holds and name its chapter"
        for public in mod.__all__:
            assert getattr(pkg, public) is getattr(mod, public), f"{package}.{public} is not {name}.{public}"
        exported |= set(mod.__all__)
    assert set(pkg.__all__) == exported, f"{package}.__all__ and its modules differ: {set(pkg.__all__) ^ exported}"


def test_the_public_api_of_before_the_split_still_works():
    import causalrec_tutorial as crt

    for dotted in [
        "recommend.fit_click_model", "recommend.rerank", "recommend.check_faithfulness", "recommend.DEFAULT_CLIP",
        "evaluate.snips", "evaluate.ndcg_at_k", "evaluate.slot_probability", "evaluate.sample_size",
        "world.ShopWorld", "world.ShopParams", "world.CATEGORIES", "world.LATE_DAYS", "world.text_vocabulary",
        "interest.EVENT_WEIGHTS", "interest.fit_sequence_model", "causal.att_weighted", "causal.recommender_dag",
    ]:
        obj = crt
        for part in dotted.split("."):
            obj = getattr(obj, part)


def test_no_module_keeps_a_private_copy_of_a_shared_check():
    """The generic checks live in _checks.py only (the names modules used to copy before the split)."""
    generic = ["_matrix", "_vector", "_columns", "_ids", "_indices", "_check_rng", "_check_bootstrap", "_check_clip",
               "_check_fraction", "_check_finite", "_check_range", "_to_float_array", "_check_k"]
    copies = [
        f"{name}: {fn}"
        for name, path in _modules().items()
        for fn in generic
        if re.search(rf"^def {fn}\(", path.read_text(encoding="utf-8"), re.M)
    ]
    assert not copies, f"private copies of shared checks: {copies}"


def test_the_catalogue_vocabulary_is_data():
    from causalrec_tutorial.world import catalogue

    assert (PKG / "world" / "catalogue.yaml").is_file()
    assert len(catalogue.CATEGORIES) == 12
    assert len(catalogue._QUALITY_ADJECTIVES) == len(catalogue._TITLE_LINES) == 5
    src = (PKG / "world" / "catalogue.py").read_text(encoding="utf-8")
    assert "road runners" not in src and "anti-blister" not in src, "category words belong in catalogue.yaml"


def test_the_built_wheel_contains_the_catalogue(tmp_path):
    """Build the wheel offline (setuptools from the environment, no build isolation) and look inside it."""
    src = tmp_path / "src"  # a copy, so that the build leaves nothing in the working tree
    shutil.copytree(PKG, src / PKG.name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PKG.parent / name, src / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(tmp_path / "dist"), str(src)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("causalrec_tutorial-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "causalrec_tutorial/world/catalogue.yaml" in names
    assert {"causalrec_tutorial/recommend/uplift.py", "causalrec_tutorial/evaluate/ope.py"} <= names


def test_every_book_pointer_names_a_chapter_and_its_labels():
    """``Book: 05_recommendation_generation.ipynb, sec-gen-uplift`` lines lead a reader to a real section."""
    book = PKG.parent / "book"
    labels = {p.name: set(re.findall(r"\((sec-[\w-]+)\)=", p.read_text(encoding="utf-8"))) for p in book.iterdir()
              if p.suffix in {".ipynb", ".md"}}
    wrong = []
    for path in PKG.rglob("*.py"):
        for line in re.findall(r"Book: (.+)", path.read_text(encoding="utf-8")):
            for part in line.split(";"):
                chapter = re.match(r"\s*([\w.-]+)", part).group(1).rstrip(".,")
                if chapter.startswith("README"):
                    continue
                if chapter not in labels:
                    wrong.append(f"{path.name}: no chapter {chapter!r}")
                    continue
                wrong += [f"{path.name}: {chapter} has no label {w!r}" for w in re.findall(r"sec-[\w-]*\w", part)
                          if w not in labels[chapter]]
    assert not wrong, wrong
