"""Self-checking exercises: every exercise has a level, each chapter a stretch one, and every check accepts the
book's answer and refuses a wrong one."""

import json
import re

import pytest

from causalrec_tutorial import config
from causalrec_tutorial import exercises as X

BOOK = config.PROJECT_DIR / "book"


def _exercises():
    """label -> (chapter, markdown of the exercise body)."""
    found = {}
    for path in sorted(BOOK.glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown":
                src = "".join(cell["source"])
                for m in re.finditer(r"```\{exercise\} [^\n]*\n:label: (\S+)\n(.*?)\n```", src, re.S):
                    found[m.group(1)] = (path.stem, m.group(2))
    return found


EXERCISES = _exercises()


def test_every_exercise_has_a_level_stated_in_the_book():
    assert set(EXERCISES) == set(X.LEVELS)
    for label, (chapter, body) in EXERCISES.items():
        assert body.lstrip().startswith(f"*Level: {X.LEVELS[label]}."), (chapter, label)
        assert X.LEVELS[label] in ("warm-up", "core", "stretch")


def test_each_chapter_has_a_stretch_exercise():
    chapters = {chapter for chapter, _ in EXERCISES.values()}
    for chapter in chapters:
        assert any(X.LEVELS[lab] == "stretch" for lab, (c, _) in EXERCISES.items() if c == chapter), chapter


def test_every_exercise_is_checked_or_says_why_not():
    assert not set(X.CHECKS) & set(X.UNCHECKED)
    assert set(X.CHECKS) | set(X.UNCHECKED) == set(EXERCISES)
    for label in X.CHECKS:  # the book tells the student how to call the check
        assert f'crt.exercises.check("{label}", answer)' in EXERCISES[label][1], label


def test_frozen_references_equal_the_books_stored_outputs():
    """A re-executed chapter needs `python -m causalrec_tutorial.exercises --freeze` too: this says when."""
    from causalrec_tutorial._exercise_references import REFERENCES

    assert REFERENCES == X.book_references(BOOK), "run: python -m causalrec_tutorial.exercises --freeze"


def test_partial_and_malformed_set_answers_get_a_clear_message():
    assert "2 smallest valid sets" in X.check("ex-causal-sets", [{"interest", "popularity", "quality"}],
                                              quiet=True).message
    assert "list of sets" in X.check("ex-causal-sets", {"interest", "quality"}, quiet=True).message
    assert "whole number" in X.check("ex-case-mde", 1003954.7, quiet=True).message
    assert X.check("ex-lm-negation", " Higher ", quiet=True)


def _wrong(ref):
    if isinstance(ref, str):
        return {"higher": "lower", "lower": "higher", "naive": "ips", "ips": "naive"}[ref]
    if isinstance(ref, tuple):
        return tuple(r + 0.5 for r in ref)
    if isinstance(ref, frozenset):
        return [{"popularity", "quality"}]
    return ref * 1.5 + 1.0


@pytest.mark.parametrize("label", sorted(X.CHECKS))
def test_check_accepts_the_reference_and_refuses_a_wrong_answer(label, monkeypatch):
    monkeypatch.setenv("CAUSALREC_MODE", "full")
    ref = X.reference(label)
    answer = [set(s) for s in ref] if isinstance(ref, frozenset) else ref
    if label == "ex-bg-randomise":  # the student's own draw: the book's naive difference, not the truth itself
        answer = X._stored_values("01_background", str(BOOK))["ex_bg_randomise"]
    right = X.check(label, answer, quiet=True)
    assert right and "right" in right.message
    wrong = X.check(label, 10 if label == "ex-eval-aa" else _wrong(ref), quiet=True)
    assert not wrong and "Hint:" in wrong.message and str(ref) not in wrong.message


def test_structural_reference_is_computed_by_the_package():
    assert X.reference("ex-causal-sets") == {frozenset({"interest", "popularity", "quality"}),
                                             frozenset({"interest", "quality", "prominence"})}


def test_bad_labels_and_answers(monkeypatch, capsys):
    with pytest.raises(ValueError, match="no check"):
        X.check("ex-bg-claim", 1)
    with pytest.raises(ValueError, match="not an exercise"):
        X.check("ex-nope", 1)
    with pytest.raises(TypeError, match="label"):
        X.check(3, 1)
    r = X.check("ex-data-ipw", "0.001")
    assert not r and "finite number" in r.message and "finite number" in capsys.readouterr().out
    assert not X.check("ex-data-ipw", float("nan"), quiet=True)
    assert not X.check("ex-gen-checker-pays", (0.1, 0.15), quiet=True)
    assert not X.check("ex-causal-sets", 5, quiet=True)
    monkeypatch.setenv("CAUSALREC_MODE", "smoke")
    assert "Smoke mode" in X.check("ex-data-ipw", 1.0, quiet=True).message
