"""The student edition (`make student`): no raw MyST, the book's numbers in the prose, solutions moved out, and the
notebooks run."""

import json

import nbformat
import pytest
from nbclient import NotebookClient

from causalrec_tutorial import config
from causalrec_tutorial import student as st

ROOT = config.PROJECT_DIR
BOOK = ROOT / "book"
CHAPTERS = sorted(p.stem for p in BOOK.glob("*.ipynb"))


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    return out, st.write_student_edition(BOOK, out)


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _src(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_every_chapter_has_a_student_notebook_without_raw_myst(edition):
    out, written = edition
    assert sorted(written) == CHAPTERS
    for name, (path, sol_path) in written.items():
        for p in [path] + ([sol_path] if sol_path else []):
            nb = _load(p)
            assert st.raw_myst(nb) == [], f"{p.name}: raw MyST left"
            nbformat.validate(nbformat.reads(json.dumps(nb), as_version=4))
            text = "\n".join(_src(c) for c in nb["cells"] if c["cell_type"] == "markdown")
            for marker in ("{glue", "{cite", "{ref}", "{doc}", "{exercise}", "{solution}", ":label:", ":class:"):
                assert marker not in text, f"{p.name}: {marker} left"


def test_prose_numbers_are_the_book_values(edition):
    out, _ = edition
    book = _load(BOOK / "01_background.ipynb")
    values = st.glue_values(book)
    text = "\n".join(_src(c) for c in _load(out / "01_background.ipynb")["cells"] if c["cell_type"] == "markdown")
    assert f"rises to {values['bg_fb_gini_popular']:.2f}" in text
    assert f"{values['bg_fb_top_popular']:.0%} of all clicks" in text


def test_solutions_move_out_and_code_is_the_books(edition):
    out, written = edition
    for name in CHAPTERS:
        book = _load(BOOK / f"{name}.ipynb")
        n_solutions = sum(_src(c).count("```{solution}") for c in book["cells"] if c["cell_type"] == "markdown")
        solution_code = [_src(c) for cell, attached in st._split(book) for c in attached]
        kept_code = [st._student_code(_src(c)) for c in book["cells"]
                     if c["cell_type"] == "code" and _src(c) not in solution_code]
        student = _load(written[name][0])
        student_code = [_src(c) for c in student["cells"] if c["cell_type"] == "code"]
        assert [c for c in student_code if c != "# your code here\n" and not c.startswith("crt.exercises.check(")] \
            == kept_code, name
        sol_path = written[name][1]
        if n_solutions:
            sol = _load(sol_path)
            assert sum(_src(c).startswith("## Solution to ") for c in sol["cells"]) == n_solutions, name
            assert [_src(c) for c in sol["cells"] if c["cell_type"] == "code"] == solution_code, name
        # Outputs are cleared except figures.
        for c in student["cells"]:
            if c["cell_type"] == "code":
                assert c["execution_count"] is None
                assert all("image/png" in o["data"] for o in c["outputs"]), name
        assert st.solution_dependencies(book) == [], name


def test_solutions_come_after_the_chapter_code():
    """Removing a solution changes nothing the student runs: after the first solution, only timing prints remain,
    so each student notebook executes the book's cells in the book's order (which nbval checks)."""
    for name in CHAPTERS:
        pairs = st._split(_load(BOOK / f"{name}.ipynb"))
        first = next((i for i, (_, attached) in enumerate(pairs) if attached), len(pairs))
        later = [_src(c) for c, _ in pairs[first + 1:] if c["cell_type"] == "code"]
        assert all("NBVAL_IGNORE_OUTPUT" in s and "chapter computed in" in s for s in later), name


# Every student notebook runs in smoke mode (``make smoke``, which CI runs); in full mode the two quick ones do.
EXECUTED = CHAPTERS if config.is_smoke() else ["01_background", "02_the_data"]


@pytest.mark.parametrize("name", EXECUTED)
def test_student_notebook_executes(edition, name):
    out, _ = edition
    nb = nbformat.read(out / f"{name}.ipynb", as_version=4)
    NotebookClient(nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(out)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []


def test_citations_from_bibtex():
    bib = """@article{a2020,
  author = {Smith, John},
  title = {One},
  year = {2020}
}
@inproceedings{b2019,
  author = {Anna Lee and Bo {\\"O}berg},
  title = {Two},
  year = {2019}
}
@book{c2018,
  author = {Kim, A. and Park, B. and Choi, C.},
  title = {Three},
  year = {2018}
}
"""
    cites = st.bib_citations(bib)
    assert cites["a2020"] == ("Smith", "2020")
    assert cites["b2019"][0].startswith("Lee and ")
    assert cites["c2018"] == ("Kim et al.", "2018")


def _context(**extra):
    ctx = {"values": {"x": 0.12345, "n": 12000, "s": "a word"}, "cites": {"k": ("Smith", "2020")},
           "targets": {"sec-a": ("nb1", "Section A"), "sec-b": ("nb2", "Section B"),
                       "ex-a": ("nb1", "Exercise: Try")},
           "titles": {"nb1": "Chapter one", "nb2": "Chapter two"}, "here": "nb1"}
    ctx.update(extra)
    return ctx


def test_convert_markdown_forms():
    text = ("(sec-a)=\n## Section A\n\nValue {glue:text}`x:.2f`, count {glue:text}`n:,`, {glue:text}`s`; "
            "see {cite:p}`k` and {cite:t}`k`, {ref}`sec-a`, {ref}`sec-b`, {ref}`that one <sec-b>`, {doc}`nb2`.\n\n"
            "```{exercise} Try\n:label: ex-a\n\nDo it.\n```\n\n```{solution} ex-a\n:class: dropdown\n\nDone.\n```\n\n"
            "```{admonition} Caveat\n:class: warning\nCareful.\n```\n\n```{math}\nx = 1\n```")
    out, solutions = st.convert_markdown(text, **_context())
    assert "(sec-a)=" not in out and "## Section A" in out
    assert "Value 0.12, count 12,000, a word;" in out
    assert "(Smith 2020) and Smith (2020)" in out
    assert "*Section A*, [Section B](nb2.ipynb), [that one](nb2.ipynb), [Chapter two](nb2.ipynb)" in out
    assert "### Exercise: Try\n\nDo it." in out and "Done." not in out and "solutions/nb1.ipynb" in out
    assert solutions == [("ex-a", "Done.")]
    assert "> **Caveat.**" in out and "> Careful." in out
    assert "$$\nx = 1\n$$" in out
    assert st.raw_myst({"cells": [{"cell_type": "markdown", "source": out}]}) == []


def test_bad_markup_is_refused_clearly():
    with pytest.raises(KeyError, match="glue key 'missing'"):
        st.convert_markdown("{glue:text}`missing:.2f`", **_context())
    with pytest.raises(KeyError, match="citation keys"):
        st.convert_markdown("{cite:p}`nope`", **_context())
    with pytest.raises(KeyError, match="reference target 'sec-z'"):
        st.convert_markdown("{ref}`sec-z`", **_context())
    with pytest.raises(ValueError, match="unclosed directive"):
        st.convert_markdown("```{exercise} T\n:label: ex-a\nbody", **_context())
    with pytest.raises(ValueError, match="no student form"):
        st.convert_markdown("```{figure} a.png\n```", **_context())
    with pytest.raises(ValueError, match="book_dir"):
        st.write_student_edition(ROOT / "no-such-folder", ROOT / "student-never")
    with pytest.raises(ValueError, match="out_dir"):
        st.write_student_edition(BOOK, BOOK)
    with pytest.raises(ValueError, match="out_dir"):
        st.write_student_edition(BOOK, BOOK / "student")
    with pytest.raises(ValueError, match="out_dir .* is a file"):
        st.write_student_edition(BOOK, BOOK / "references.bib")


def test_a_kept_cell_that_needs_a_solution_is_caught():
    nb = {"cells": [
        {"cell_type": "markdown", "source": "```{solution} ex-a\n\nSee.\n```"},
        {"cell_type": "code", "source": "helper = 3", "metadata": {"tags": ["hide-cell"]}},
        {"cell_type": "code", "source": "print(helper)", "metadata": {}},
    ]}
    assert st.solution_dependencies(nb) and "helper" in st.solution_dependencies(nb)[0]
