"""The package's layout: the map in causalrec_tutorial/README.md matches the code, imports only go downward, no
module grows past ~800 lines, the public API is reachable through the subpackages, and the wheel ships its data."""

from __future__ import annotations

import ast
import hashlib
import importlib
import json
import pathlib
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

PKG = pathlib.Path(__file__).resolve().parents[1] / "causalrec_tutorial"
MAX_LINES = 800
VOCABULARY_SHA256 = "9bc8eaa75795b083b184275944309c3e9972476c5673c8bd86bf05eb1aa200be"


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


def _imports(path: pathlib.Path, pkg: pathlib.Path = PKG, mods: dict | None = None) -> set[str]:
    """Package-internal modules a file imports (at the top or inside functions), as names relative to the package;
    importing a subpackage (``from .. import world``, ``import causalrec_tutorial.world``, ``from ..world import
    ShopWorld``) counts as importing each of its modules."""
    mods = _modules() if mods is None else mods
    rel = path.relative_to(pkg).with_suffix("").parts
    if rel[-1] == "__init__":
        rel = rel[:-1]
        here = list(rel)
    else:
        here = list(rel[:-1])  # the package this module is in
    found: set[str] = set()

    def add(dotted: str) -> bool:
        if dotted in mods:
            found.add(dotted)
            return True
        if dotted and (pkg / dotted.replace(".", "/")).is_dir():
            found.update(m for m in mods if m.startswith(dotted + "."))
            return True
        return False

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("causalrec_tutorial."):
                    add(a.name.split(".", 1)[1])
            continue
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = here[: len(here) - node.level + 1] + (node.module.split(".") if node.module else [])
        elif (node.module or "").split(".")[0] == "causalrec_tutorial":
            base = node.module.split(".")[1:]
        else:
            continue
        named = [add(".".join(base + [a.name])) for a in node.names]  # ``from . import cache``
        if not any(named):
            add(".".join(base))  # ``from ..world import ShopWorld``
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


def test_a_package_init_imports_only_its_own_modules():
    """``world/__init__.py`` re-exports world's modules and nothing else; the root ``__init__`` only the base."""
    for init in PKG.rglob("__init__.py"):
        package = ".".join(init.parent.relative_to(PKG).parts)
        found = _imports(init)
        if package:
            foreign = {m for m in found if not m.startswith(package + ".")}
        else:
            foreign = found - {"columns", "config"}
        assert not foreign, f"{init.relative_to(PKG)} imports {sorted(foreign)}"


def test_the_import_parser_finds_top_level_and_lazy_imports(tmp_path):
    """The check above can fail: it sees relative and absolute imports, and those inside functions."""
    found = _imports(PKG / "world" / "shop.py")
    assert {"world.catalogue", "world.logs", "world.params", "_checks", "config", "columns"} <= found
    graphs = _imports(PKG / "causal" / "graphs.py")
    assert "plotting" in graphs  # a lazy import inside draw_dag
    # every spelling of an upward import is seen (a fake module in a copy of the package's layout)
    fake_pkg = tmp_path / "causalrec_tutorial"
    for name in ("world", "evaluate", "recommend", "interest", "causal"):
        (fake_pkg / name).mkdir(parents=True)
    fake = fake_pkg / "world" / "fake.py"
    fake.write_text("def f():\n    from .. import evaluate\n    import causalrec_tutorial.recommend.uplift\n"
                    "    from causalrec_tutorial import interest\n    from ..causal import graphs\n")
    found = _imports(fake, fake_pkg, {**_modules(), "world.fake": fake})
    assert {"evaluate.ope", "recommend.uplift", "interest.pooling", "causal.graphs"} <= found, found


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


# The public names of each module before the split (its __all__ at 30a9452), plus the module-level names that
# notebooks and tests used without their being in __all__: every one must still be reachable.
PRE_SPLIT = {
    "world": """
        ABTestResult CATEGORIES EARLY_DAYS EVENTS LATE_DAYS LOG_PERIODS LoggingProbabilities PERIODS PolicyValue
        START ShopLogs ShopParams ShopWorld TextVocabulary TrueEffects text_vocabulary
    """.split(),
    "evaluate": """
        ABEstimate OPEEstimate average_popularity bernoulli_ts_action_dist coverage difference_in_means dm dr
        effective_sample_size estimate_ab_effects estimate_policy_value expected_reward fit_reward_model
        importance_weights ips map_at_k mixture_value ndcg_at_k precision_at_k recall_at_k sample_size
        sample_size_for_mean slot_distribution slot_probability snips
    """.split(),
    "recommend": """
        ClaimLexicon ClickModel DEFAULT_CLIP FaithfulnessVerdict LMRanking PairFeatures SHOP_PITCH SHOP_RANK_CANDIDATES
        check_faithfulness choices_from_order_scores claim_lexicon estimate_examination estimate_uplift estimate_uplifts
        fit_click_model ips_weights item_fact_text lm_order_scores lm_position_experiment lm_rank
        position_effect position_effect_reduction recommend_pitch rerank rerank_by_uplift retrieve_candidates
        shop_pair_features template_pitch top_k write_pitch
    """.split(),
    "interest": """
        EVENT_WEIGHTS MultiInterest SHOP_INTEREST_SUMMARY SequenceModel category_profile clean_title
        fit_sequence_model interest_agreement interest_vectors item_texts lm_interest_vectors
        next_item_sequences pool_mean pool_multi pool_recency score_items serialize_history summarize_interests
    """.split(),
    "causal": """
        CLICK EXAMINATION EXPOSURE EffectEstimate INTEREST ITEM_TEXT LOGGED_PROPENSITY OBSERVED POPULARITY
        POSITION PURCHASE QUALITY att_weighted backdoor_paths causal_model check_dag collider_dag
        confounding_dag dowhy_quiet draw_dag estimate_dowhy estimate_regression_att estimate_text_adjusted
        is_backdoor_adjustment logging_dag mediator_dag popularity_dag position_dag recommender_dag
        reduce_embeddings refute_dowhy shop_frame simulate_text_confounding text_confounder_dag
    """.split(),
}


@pytest.mark.parametrize("package", sorted(PRE_SPLIT))
def test_every_public_name_of_before_the_split_is_still_reachable(package):
    pkg = importlib.import_module(f"causalrec_tutorial.{package}")
    missing = [n for n in PRE_SPLIT[package] if not hasattr(pkg, n)]
    assert not missing, f"causalrec_tutorial.{package} lost {missing}"
    dropped = [n for n in PRE_SPLIT[package] if n not in pkg.__all__ and n not in ("OBSERVED",)]
    assert not dropped or set(dropped) <= {"EARLY_DAYS", "LATE_DAYS", "START", "EVENTS", "LOG_PERIODS"} - set(
        pkg.__all__), f"{package}.__all__ lost {dropped}"


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
               "_check_fraction", "_check_finite", "_check_range", "_to_float_array", "_check_k", "_check_embeddings",
               "_check_history", "_check_weights", "_check_int", "_check_number"]
    copies = [
        f"{name}: {fn}"
        for name, path in _modules().items()
        for fn in generic
        if re.search(rf"^def {fn}\(", path.read_text(encoding="utf-8"), re.M)
    ]
    assert not copies, f"private copies of shared checks: {copies}"


# Hand-written versions of what _checks does: the integer/number type test, the DataFrame-columns message, the
# confidence test. Outside _checks.py they mean a module kept its own copy.
INLINE_COPIES = [
    re.compile(r"isinstance\((\w+), bool\) or not isinstance\(\1, \((int|float)"),
    re.compile(r"lacks column"),
    re.compile(r"if not 0 < confidence < 1"),
]


def test_no_module_writes_a_shared_check_inline():
    found = [
        f"{name}:{n}: {line.strip()[:70]}"
        for name, path in _modules().items()
        if name != "_checks"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if any(rx.search(line) for rx in INLINE_COPIES)
    ]
    assert not found, "checks written inline instead of calling _checks: " + "; ".join(found)


def test_the_catalogue_vocabulary_is_data():
    from causalrec_tutorial.world import catalogue

    assert (PKG / "world" / "catalogue.yaml").is_file()
    assert len(catalogue.CATEGORIES) == 12
    assert len(catalogue._QUALITY_ADJECTIVES) == len(catalogue._TITLE_LINES) == 5
    # content *and order* pinned: texts are written by seeded index draws, so a reordered list changes every text
    blob = json.dumps(catalogue._vocabulary(), ensure_ascii=False).encode("utf-8")
    assert hashlib.sha256(blob).hexdigest() == VOCABULARY_SHA256, (
        "the catalogue vocabulary changed: every item text changes with it; re-execute the chapters and update "
        "VOCABULARY_SHA256 if that is intended")
    src = (PKG / "world" / "catalogue.py").read_text(encoding="utf-8")
    assert "road runners" not in src and "anti-blister" not in src, "category words belong in catalogue.yaml"


def test_the_built_wheel_contains_the_catalogue(tmp_path):
    """Build the wheel offline (setuptools from the environment, no build isolation) and look inside it."""
    src = tmp_path / "src"  # a copy, so that the build leaves nothing in the working tree
    shutil.copytree(PKG, src / PKG.name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PKG.parent / name, src / name)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(tmp_path / "dist"), str(src)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, f"the wheel did not build offline:\n{done.stderr[-2000:]}"
    (wheel,) = (tmp_path / "dist").glob("causalrec_tutorial-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "causalrec_tutorial/world/catalogue.yaml" in names
    assert {"causalrec_tutorial/recommend/uplift.py", "causalrec_tutorial/evaluate/ope.py"} <= names


def test_every_book_pointer_names_a_chapter_and_its_labels():
    """``Book: 05_recommendation_generation.ipynb, sec-gen-uplift`` lines lead a reader to a real section."""
    book = PKG.parent / "book"
    labels = {p.name: set(re.findall(r"\(([\w-]+)\)=", p.read_text(encoding="utf-8"))) for p in book.iterdir()
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
                named = re.sub(r"\([^)]*\)", "", part[part.index(chapter) + len(chapter):])  # drop remarks
                words = [w.strip(" .") for w in named.split(",") if w.strip(" .")]
                wrong += [f"{path.name}: {chapter} has no label {w!r}" for w in words if w not in labels[chapter]]
    assert not wrong, wrong
