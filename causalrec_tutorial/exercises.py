"""Self-checking exercises: ``crt.exercises.check("ex-data-ipw", my_answer)`` says whether an answer is right.
Book: instructor_guide.md, sec-instructor-exercises; README.md, "Teaching a workshop".

Every exercise of the book has a level (:data:`LEVELS`: warm-up, core or stretch; each chapter has a stretch one),
stated at the top of the exercise. Each exercise with a computed answer has a check (:data:`CHECKS`): it compares
the student's answer with the value the book's own solution computed, read from the executed chapter's stored
outputs (the solution's hidden cell glues it), or, for a structural answer, with what the package computes, and
prints a hint when the answer is off, without giving the value away. Exercises whose answer is an argument or the
student's own text have no check (:data:`UNCHECKED` says why).

The references are frozen in :mod:`._exercise_references` from the executed chapters (``python -m
causalrec_tutorial.exercises --freeze``, after re-executing a chapter; a test checks that they equal the chapters'
stored outputs), so a notebook saved in JupyterLab cannot change them. They are the full-mode book's numbers: in smoke mode
(``CAUSALREC_MODE=smoke``) a correct method gives other numbers, and the check says so instead of calling the answer
wrong.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import itertools
import json
import math
import numbers
import pathlib
import sys
from collections.abc import Callable
from typing import Any

from . import config

__all__ = ["CHECKS", "LEVELS", "UNCHECKED", "CheckResult", "ExerciseCheck", "book_references", "check", "freeze",
           "glue_values", "main", "reference"]

#: The level of every exercise in the book: ``warm-up`` (apply what the chapter just did), ``core`` (the chapter's
#: main skill, a few steps of your own) or ``stretch`` (open-ended, or a study of its own).
LEVELS: dict[str, str] = {
    "ex-bg-feedback": "core", "ex-bg-randomise": "warm-up", "ex-bg-bow": "warm-up", "ex-bg-claim": "stretch",
    "ex-data-position": "core", "ex-data-ipw": "stretch", "ex-data-confounding": "core", "ex-data-tail": "warm-up",
    "ex-int-finetune": "core", "ex-int-length": "warm-up", "ex-int-prompt": "stretch",
    "ex-causal-sets": "warm-up", "ex-causal-clip": "warm-up", "ex-causal-components": "stretch",
    "ex-causal-collider-shop": "core",
    "ex-gen-small-world": "core", "ex-gen-blend": "warm-up", "ex-gen-first-position": "core",
    "ex-gen-invent": "warm-up", "ex-gen-checker-pays": "stretch",
    "ex-eval-same-logs": "stretch", "ex-eval-clip": "core", "ex-eval-aa": "warm-up",
    "ex-case-seed": "stretch", "ex-case-mde": "warm-up", "ex-case-blend": "core",
    "ex-lm-negation": "warm-up", "ex-lm-length": "core", "ex-lm-ground": "stretch",
    "ex-intervals-unshown": "stretch", "ex-intervals-level": "core", "ex-intervals-aa-bias": "warm-up",
    "ex-ablate-clip": "warm-up", "ex-ablate-exam": "core", "ex-ablate-seeds": "stretch",
}

#: Exercises without a check, and why.
UNCHECKED: dict[str, str] = {
    "ex-bg-feedback": "the summary row depends on your policy and seed; compare it with the chapter's table",
    "ex-bg-bow": "the texts are your own",
    "ex-bg-claim": "the answer is an experimental design, an argument",
    "ex-int-finetune": "the answer is an explanation of what training does to the cold rows",
    "ex-int-prompt": "the template is your own",
    "ex-gen-invent": "the pitches are your own",
    "ex-lm-ground": "the answer is a judgement of generated text",
    "ex-intervals-unshown": "a Monte-Carlo study of its own; its numbers depend on the sizes you choose",
    "ex-intervals-level": "the answer is a comparison across the study's rows; the solution states it",
    "ex-intervals-aa-bias": "the answer is a t statistic and an argument about power; the solution states it",
    "ex-ablate-clip": "a prediction before running the printed cell",
}


@dataclasses.dataclass(frozen=True)
class ExerciseCheck:
    """How one exercise's answer is checked.

    Attributes:
        chapter: the notebook (file stem in ``book/``) whose stored outputs hold the reference.
        ask: what to pass to :func:`check`.
        key: the glue key of the reference in that notebook (``None`` when ``compute`` gives it).
        tol: absolute tolerance for a number.
        rel: relative tolerance for a number.
        hint: what to look at when the answer is off.
        compute: a function that computes the reference with the package (for structural answers).
        integer: the answer is a count.
    """

    chapter: str
    ask: str
    key: str | None
    tol: float = 0.0
    rel: float = 0.0
    hint: str = ""
    compute: Callable[[], Any] | None = None
    integer: bool = False


def _smallest_backdoor_sets() -> frozenset[frozenset[str]]:
    from .causal import is_backdoor_adjustment, recommender_dag

    dag = recommender_dag()
    nodes = ["interest", "popularity", "quality", "prominence", "item_text"]
    for k in range(1, len(nodes) + 1):
        found = frozenset(frozenset(z) for z in itertools.combinations(nodes, k)
                          if is_backdoor_adjustment(dag, "exposure", "purchase", z))
        if found:
            return found
    return frozenset()


#: The checks, by exercise label.
CHECKS: dict[str, ExerciseCheck] = {
    "ex-bg-randomise": ExerciseCheck(
        "01_background", "the naive difference in purchase rates under the coin-flip exposure (a float)",
        "ex_bg_randomise_truth", tol=0.01,
        hint="with a coin flip, exposed and unexposed users have the same mix of interests, so the plain difference "
             "should be close to the true average effect; check that the coin ignores interest"),
    "ex-data-position": ExerciseCheck(
        "02_the_data", "the upper end of the shop's 95% percentile interval for the last slot's ratio (a float)",
        "ex_data_position", tol=0.01,
        hint="resample the impressions with replacement 200 times, recompute each slot's click-through rate over "
             "the first slot's, and take the 97.5th percentile for the last slot"),
    "ex-data-ipw": ExerciseCheck(
        "02_the_data", "your Horvitz-Thompson estimate of the ATE (a float)", "ex_data_ipw", tol=2e-5,
        hint="weight each row by sample_weight, divide by the number of items, sum within a session, then average "
             "the sessions; not-shown rows enter with 1 - show_probability"),
    "ex-data-confounding": ExerciseCheck(
        "02_the_data", "the ratio naive / ATT for the uniform random recommender (variant c, a float)",
        "ex_data_confounding", tol=0.02,
        hint="switch off all three logging weights (popularity, quality, interest) in one ShopWorld with seed 7"),
    "ex-data-tail": ExerciseCheck(
        "02_the_data", "the share of the shop's early impressions that go to the top 10% of items (a float)",
        "ex_data_tail", tol=0.005,
        hint="sort the items by impressions, keep the top 10% of the catalogue, and divide their impressions by all"),
    "ex-int-length": ExerciseCheck(
        "03_interest_extraction", "the weighted tau of mean pooling (MiniLM) for users with 40 or more events",
        "ex_int_length", tol=0.01,
        hint="count every event of the early period, views included, and keep users with at least 40"),
    "ex-causal-sets": ExerciseCheck(
        "04_causal_graphs", "every smallest valid adjustment set (a list of sets of node names)", None,
        hint="every valid set must block the paths through interest and through quality; try all sets of three",
        compute=_smallest_backdoor_sets),
    "ex-causal-clip": ExerciseCheck(
        "04_causal_graphs", "the clipped logged-propensity estimate (a float)", "ex_causal_clip", tol=2e-4,
        hint='pass method_params={"propensity_score_column": "table_propensity", "max_ps_score": 0.95}'),
    "ex-causal-components": ExerciseCheck(
        "04_causal_graphs", "the share of the bias removed with 32 PLS components (a float)",
        "ex_causal_components", tol=0.01,
        hint="the share removed is 1 - (estimate - truth) / (bias with the observed columns only)"),
    "ex-causal-collider-shop": ExerciseCheck(
        "04_causal_graphs", "first-slot minus last-slot purchase rate over clicked impressions only (a float)",
        "ex_causal_collider_shop", tol=2e-4,
        hint="condition on click == 1, then compare the purchase rates of the first and the last slot"),
    "ex-gen-small-world": ExerciseCheck(
        "05_recommendation_generation", 'which model wins by NDCG@10 with model seed 0: "naive" or "ips"',
        "ex_gen_small_world",
        hint="fit both with fit_click_model(..., weighting=..., patience=1, seed=0) on the small shop"),
    "ex-gen-blend": ExerciseCheck(
        "05_recommendation_generation", "incremental purchases per session of the blend with weight 0.5 (a float)",
        "ex_gen_blend", tol=2e-4,
        hint="pass click_scores=click_models['ips'].scores() and weight=0.5, and value the list with "
             "world.policy_value"),
    "ex-gen-first-position": ExerciseCheck(
        "05_recommendation_generation", "the estimated effect of the first position on being chosen (a float)",
        "ex_gen_first_position", tol=1e-6,
        hint="R.position_effect(single, position=0, rng=1)"),
    "ex-gen-checker-pays": ExerciseCheck(
        "05_recommendation_generation", "the pitch_return at which checked minus LM sentence crosses zero (a float, "
        "interpolated between the grid values around the sign change)", "ex_gen_checker_pays", tol=0.03,
        hint="compute checked minus LM sentence in kept incremental purchases for several pitch_return values and "
             "interpolate linearly where it changes sign"),
    "ex-eval-same-logs": ExerciseCheck(
        "06_evaluation", "the SNIPS estimate of clicks per session on the training logs (a float)",
        "ex_eval_same_logs", tol=0.005,
        hint="use train.impressions and target probabilities for the early period"),
    "ex-eval-clip": ExerciseCheck(
        "06_evaluation", "the IPS estimate of clicks per session with the weights clipped at 5 (a float)",
        "ex_eval_clip", tol=0.005,
        hint="E.ips(rewards, propensities, target, clip=5, n_bootstrap=0).value, times the number of slots"),
    "ex-eval-aa": ExerciseCheck(
        "06_evaluation", "how many of your 20 A/A tests exclude zero (an integer)", "ex_eval_aa", tol=0, integer=True,
        hint="with 95% intervals about one in twenty excludes zero by chance; five or more in twenty is very rare "
             "by chance and suggests a mistake (a wrong interval, or arms that differ)"),
    "ex-case-seed": ExerciseCheck(
        "07_case_study", "incremental purchases per session of the LM interest list in the shop with seed 2027",
        "ex_case_seed", tol=5e-4,
        hint="learn the list from that shop's own early logs (the first three quarters), exactly as in step 3"),
    "ex-case-mde": ExerciseCheck(
        "07_case_study", "sessions per arm to detect a 10% rise in the purchases the old list causes (an integer)",
        "ex_case_mde", rel=0.01, integer=True,
        hint="halving the effect to detect multiplies the sessions by about four"),
    "ex-case-blend": ExerciseCheck(
        "07_case_study", "the answer key's incremental purchases per session at weight 0.5 (a float)",
        "ex_case_blend", tol=2e-4,
        hint="blend with R.rerank_by_uplift(candidates, uplift, world.k, click_scores=click_scores, weight=0.5) and "
             "value the list with world.policy_value"),
    "ex-lm-negation": ExerciseCheck(
        "appendix_a_language_models", '"higher" or "lower": the negated pair\'s cosine against the paraphrase\'s',
        "ex_lm_negation",
        hint="encode the three texts with one call and compare v[0] @ v[1] with v[0] @ v[2]"),
    "ex-lm-length": ExerciseCheck(
        "appendix_a_language_models", "the short continuation's log-likelihood per token (a float)",
        "ex_lm_length", tol=0.02,
        hint="divide generator.score(prompt, candidates) by the number of tokens of each candidate"),
    "ex-ablate-exam": ExerciseCheck(
        "appendix_c_click_ablation", "the estimated examination probability of the last slot (a float; the shop of "
        "seed 900 with ranked slots)",
        "ab_ex_est_last", tol=0.002,
        hint="crt.recommend.estimate_examination on the ranked-slot shop's impressions; take the last value"),
    "ex-ablate-seeds": ExerciseCheck(
        "appendix_c_click_ablation", "the mean NDCG@10 gap, chapter-05 model minus naive, over seeds 0, 1, 2",
        "ab_seed_gap", tol=0.002,
        hint="fit both models for each seed on the same logs and average the paired differences"),
}

_TEXT_ANSWERS = {"ex-lm-negation", "ex-gen-small-world"}


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """The outcome of :func:`check`: truthy when the answer is right.

    Attributes:
        label: the exercise.
        ok: whether the answer matched the reference.
        message: what was printed.
    """

    label: str
    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def _ipython_display_(self) -> None:  # the verdict is printed already: show nothing more in a notebook
        pass


GLUE_MIME = "application/papermill.record/text/plain"


def glue_values(nb: dict) -> dict[str, Any]:
    """The values a notebook glued, read from its stored outputs (``ast.literal_eval`` of the text form)."""
    values: dict[str, Any] = {}
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            text = out.get("data", {}).get(GLUE_MIME)
            if name is None or text is None:
                continue
            text = "".join(text) if isinstance(text, list) else text
            try:
                values[name] = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                values[name] = text
    return values


@functools.cache
def _stored_values(chapter: str, book_dir: str) -> dict[str, Any]:
    path = pathlib.Path(book_dir) / f"{chapter}.ipynb"
    if not path.exists():
        raise FileNotFoundError(f"the chapter {path} is missing; the references are read from its stored outputs")
    try:
        return glue_values(json.loads(path.read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not a readable notebook ({exc}); restore it with git") from exc


def book_references(book_dir: pathlib.Path | str | None = None) -> dict[str, Any]:
    """Every check's reference read from the executed chapters' stored outputs (what :func:`freeze` writes)."""
    book = str(pathlib.Path(book_dir or config.PROJECT_DIR / "book"))
    refs: dict[str, Any] = {}
    for label, spec in CHECKS.items():
        if spec.compute is not None:
            continue
        values = _stored_values(spec.chapter, book)
        if label == "ex-lm-negation":
            refs[label] = "higher" if values["ex_lm_negation"] > values["ex_lm_negation_paraphrase"] else "lower"
        elif spec.key not in values:
            raise KeyError(f"{spec.chapter}.ipynb has no stored value {spec.key!r}; rebuild the book (make book)")
        else:
            refs[label] = values[spec.key]
    return refs


def freeze(book_dir: pathlib.Path | str | None = None) -> pathlib.Path:
    """Write :mod:`._exercise_references` from the executed chapters (run it after re-executing a chapter)."""
    refs = book_references(book_dir)
    path = pathlib.Path(__file__).with_name("_exercise_references.py")
    lines = ['"""The exercises\' reference answers, frozen from the executed book by', "",
             "    python -m causalrec_tutorial.exercises --freeze", "",
             "Do not edit by hand: tests/test_exercises.py checks that these equal the chapters' stored outputs.",
             '"""', "", "REFERENCES = {"]
    lines += [f"    {label!r}: {value!r}," for label, value in sorted(refs.items())]
    lines += ["}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def reference(label: str, book_dir: pathlib.Path | str | None = None) -> Any:
    """The reference answer of an exercise: the value its solution computed in the executed book, frozen in
    :mod:`._exercise_references` (or read from ``book_dir``'s stored outputs when given); for a structural answer,
    what the package computes.

    Raises:
        ValueError: for an exercise without a check (see :data:`UNCHECKED`) or an unknown label.
    """
    spec = _spec(label)
    if spec.compute is not None:
        return spec.compute()
    if book_dir is not None:
        return book_references(book_dir)[label]
    from ._exercise_references import REFERENCES

    if label not in REFERENCES:
        raise KeyError(f"no frozen reference for {label}; run: python -m causalrec_tutorial.exercises --freeze")
    return REFERENCES[label]


def _spec(label: str) -> ExerciseCheck:
    if not isinstance(label, str):
        raise TypeError(f"label must be an exercise label such as 'ex-data-ipw', got {type(label).__name__}")
    if label in UNCHECKED:
        raise ValueError(f"{label} has no check: {UNCHECKED[label]}")
    if label not in CHECKS:
        raise ValueError(f"label {label!r} is not an exercise with a check; known: {', '.join(sorted(CHECKS))}")
    return CHECKS[label]


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _matches(label: str, spec: ExerciseCheck, answer: Any, ref: Any) -> tuple[bool, str]:
    if spec.compute is not None:  # a collection of sets of node names
        if isinstance(answer, (str, bytes)) or not hasattr(answer, "__iter__") \
                or any(isinstance(x, (str, bytes)) or not hasattr(x, "__iter__") for x in answer):
            return False, "pass a list of sets of node names, e.g. [{'a', 'b'}, {'a', 'c'}]"
        got = frozenset(frozenset(x) for x in answer)
        if got < ref:
            return False, (f"each of your {len(got)} set(s) is right, but there are {len(ref)} smallest valid sets. "
                           f"Hint: {spec.hint}.")
        return got == ref, ""
    if label in _TEXT_ANSWERS:
        if not isinstance(answer, str):
            return False, f"pass one of the words asked for ({spec.ask})"
        return answer.strip().lower() == str(ref).lower(), ""
    if not _is_number(answer) or not math.isfinite(float(answer)):
        return False, f"pass a finite number ({spec.ask})"
    if spec.integer and not float(answer).is_integer():
        return False, f"pass a whole number ({spec.ask})"
    if label == "ex-eval-aa":  # a count of chance events: anything chance makes likely is right
        return 0 <= answer <= 4, ""
    return abs(answer - ref) <= spec.tol + spec.rel * abs(ref), ""


def check(label: str, answer: Any, *, book_dir: pathlib.Path | str | None = None, quiet: bool = False) -> CheckResult:
    """Check an exercise's answer and print a verdict (and a hint when it is off).

    Args:
        label: the exercise's label, as printed under it (``"ex-data-ipw"``).
        answer: your answer, in the form the exercise's check asks for (``CHECKS[label].ask``).
        book_dir: the folder of the executed chapters (default: the course's ``book/``).
        quiet: do not print.

    Returns:
        :class:`CheckResult`, truthy when right.

    Raises:
        ValueError: for an unknown label or an exercise without a check.
    """
    spec = _spec(label)
    ref = reference(label, book_dir)
    ok, problem = _matches(label, spec, answer, ref)
    if ok and label == "ex-eval-aa":
        message = f"{label}: right: chance alone puts 0 to 4 of 20 there. The book's run gave {ref!r}."
    elif ok:
        message = f"{label}: right. The book's solution gives {ref!r}."
    else:
        message = f"{label}: not what the book's solution computed. " + (problem or f"Hint: {spec.hint}.")
        if config.is_smoke():
            message += (" (Smoke mode is on: the book's references are full-mode numbers, so a correct method "
                        "gives other values; run without CAUSALREC_MODE=smoke to check.)")
    if not quiet:
        print(message)
    return CheckResult(label=label, ok=bool(ok), message=message)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m causalrec_tutorial.exercises",
                                     description="List the exercises' checks, or freeze their references.")
    parser.add_argument("--freeze", action="store_true",
                        help="write causalrec_tutorial/_exercise_references.py from the executed chapters")
    args = parser.parse_args(argv)
    if args.freeze:
        print(f"wrote {freeze()}")
        return 0
    for label, spec in CHECKS.items():
        print(f"{label} ({LEVELS[label]}): {spec.ask}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
