"""``python -m causalrec_tutorial.student``: the student edition of the chapters, for JupyterLab.
Book: instructor_guide.md, sec-instructor-student; README.md, "Teaching a workshop".

The chapters are written in MyST for Jupyter Book. Opened in JupyterLab they show their markup raw: labels such as
``(sec-eval)=``, citation and cross-reference roles, and every number of the prose as a ``{glue:text}`` role, while
each exercise's solution sits in plain view under it. This module writes ``student/`` from the *executed* chapters:

- each ``{glue:text}`key:fmt``` role becomes its value, formatted as the book formats it (the value is read from
  the cell output that glued it, so the student's prose states the book's numbers);
- citations become "Author (Year)" text read from ``book/references.bib``; references to sections, exercises and
  chapters become their titles (a link when they are in another notebook); labels are removed;
- exercises become headed paragraphs and admonitions quoted paragraphs; each solution, with the code cells that
  belong to it, moves to ``student/solutions/NN_name.ipynb`` (outputs kept there, to compare with), and the chapter
  keeps an empty code cell under the exercise, and a call of its check (:mod:`.exercises`) where it has one;
- outputs are cleared except figures; code cells are otherwise the book's, so the notebook runs top to bottom.

A solution's code cells are the ``hide-cell`` code cells that directly follow the markdown cell holding its
``{solution}`` directive. :func:`solution_dependencies` checks that no cell the student keeps uses a name that
only a removed solution defines (which would break the student notebook); :func:`write_student_edition` refuses to
write an edition that fails it.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import pathlib
import re
import sys
from collections.abc import Iterable

from . import config
from .exercises import CHECKS, glue_values

__all__ = ["StudentEdition", "bib_citations", "convert_markdown", "glue_values", "labels", "main",
           "raw_myst", "solution_dependencies", "write_student_edition"]

_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[a-z:-]+)\}[ \t]*(?P<arg>.*)$")
_LABEL = re.compile(r"^\(([A-Za-z0-9_-]+)\)=\s*$")
_ROLE = re.compile(r"\{(?P<role>glue:text|cite:p|cite:t|ref|doc|numref)\}`(?P<body>[^`]*)`")
#: What may not survive into a student notebook: any MyST role, a label line, a directive fence.
_RAW = re.compile(r"\{[a-z]+(:[a-z]+)?\}`|^\([A-Za-z0-9_-]+\)=\s*$|^(`{3,}|:{3,})\{[a-z:-]+\}", re.M)


class StudentEdition(dict):
    """What :func:`write_student_edition` wrote: chapter name -> (student notebook path, solutions path or None)."""


def _cells_source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _format_glue(body: str, values: dict[str, object], where: str) -> str:
    key, _, fmt = body.partition(":")
    if key not in values:
        raise KeyError(f"{where}: glue key {key!r} is not in the executed notebook's outputs; build the book first")
    value = values[key]
    return format(value, fmt) if fmt else str(value)


def bib_citations(bib_text: str) -> dict[str, tuple[str, str]]:
    """Citation key -> (authors as cited, year) from a BibTeX file: "Smith", "Smith and Lee", "Smith et al."."""
    cites: dict[str, tuple[str, str]] = {}
    for match in re.finditer(r"@\w+\s*\{\s*([^,\s]+)\s*,(.*?)\n\}", bib_text, re.S):
        key, body = match.group(1), match.group(2)
        fields = {m.group(1).lower(): m.group(2) for m in
                  re.finditer(r"(\w+)\s*=\s*[{\"]((?:[^{}]|\{[^{}]*\})*)[}\"]", body)}
        year = fields.get("year", "n.d.").strip()
        raw = fields.get("author") or fields.get("editor") or fields.get("title", key)
        names = [a.strip() for a in re.split(r"\s+and\s+", raw.replace("\n", " ")) if a.strip()]
        surnames = [(n.split(",")[0] if "," in n else n.split()[-1]).strip("{} ") for n in names]
        if len(surnames) == 1:
            authors = surnames[0]
        elif len(surnames) == 2:
            authors = f"{surnames[0]} and {surnames[1]}"
        else:
            authors = f"{surnames[0]} et al."
        cites[key] = (authors.replace("{", "").replace("}", ""), year)
    return cites


def _notebook_title(nb: dict) -> str:
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            m = re.search(r"^#\s+(.+)$", _cells_source(cell), re.M)
            if m:
                return m.group(1).strip()
    return ""


def _title_after(lines: list[str]) -> str:
    """What a label names: the next heading of its cell, else the bold phrase its paragraph opens with, else its first
    words."""
    heading = next((re.sub(r"^#+\s*", "", line).strip() for line in lines if line.startswith("#")), "")
    if heading:
        return heading
    first = next((line.strip() for line in lines if line.strip()), "")
    bold = re.match(r"^\*\*(.+?)\*\*", first)
    if bold:
        return bold.group(1).strip(" .:")
    return " ".join(first.split()[:6]).strip(" .:,") or "this section"


def labels(notebooks: dict[str, dict], pages: dict[str, str] | None = None) -> dict[str, tuple[str, str]]:
    """Label -> (notebook or page name, title): ``(label)=`` lines take the next heading; exercises their title.
    ``pages`` are the book's markdown pages (name -> text); a notebook's label wins over a page's."""
    found: dict[str, tuple[str, str]] = {}
    texts = [(name, _cells_source(cell)) for name, nb in notebooks.items() for cell in nb["cells"]
             if cell["cell_type"] == "markdown"]
    for name, text in texts + list((pages or {}).items()):
        lines = text.splitlines()
        for i, line in enumerate(lines):
            m = _LABEL.match(line)
            if m:
                found.setdefault(m.group(1), (name, _title_after(lines[i + 1:])))
            m = _FENCE.match(line)
            if m and m.group("name") == "exercise":
                for opt in lines[i + 1:i + 4]:
                    lab = re.match(r"^:label:\s*(\S+)", opt)
                    if lab:
                        found[lab.group(1)] = (name, f"Exercise: {m.group('arg').strip()}")
    return found


def _replace_roles(text: str, *, values: dict, cites: dict, targets: dict, titles: dict, here: str) -> str:
    def one(m: re.Match) -> str:
        role, body = m.group("role"), m.group("body")
        if role == "glue:text":
            return _format_glue(body, values, here)
        if role in ("cite:p", "cite:t"):
            keys = [k.strip() for k in body.split(",") if k.strip()]
            missing = [k for k in keys if k not in cites]
            if missing:
                raise KeyError(f"{here}: citation keys {missing} are not in references.bib")
            if role == "cite:t":
                return "; ".join(f"{cites[k][0]} ({cites[k][1]})" for k in keys)
            return "(" + "; ".join(f"{cites[k][0]} {cites[k][1]}" for k in keys) + ")"
        if role == "doc":
            target = body.split("<")[-1].rstrip(">").strip() if "<" in body else body.strip()
            target = pathlib.PurePosixPath(target).name
            shown = body.split("<")[0].strip() if "<" in body else titles.get(target, target)
            return f"[{shown}]({target}.ipynb)" if target in titles else shown
        # ref / numref
        if "<" in body and body.endswith(">"):
            shown, label = body[:body.rindex("<")].strip(), body[body.rindex("<") + 1:-1].strip()
        else:
            shown, label = "", body.strip()
        if label not in targets:
            raise KeyError(f"{here}: reference target {label!r} is not a label of any chapter or page")
        where, title = targets[label]
        shown = shown or title
        if where == here:
            return f"*{shown}*"
        if where in titles:
            return f"[{shown}]({where}.ipynb)"
        return f"*{shown}*"  # a page of the book that is not a notebook (preface, outlook, FAQ)

    return _ROLE.sub(one, text)


def _blocks(text: str) -> list[tuple[str | None, str, list[str]]]:
    """Split markdown into plain runs and top-level directive blocks: (name or None, argument, body lines)."""
    out: list[tuple[str | None, str, list[str]]] = []
    lines = text.split("\n")
    plain: list[str] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            plain.append(lines[i])
            i += 1
            continue
        fence, end = m.group("fence"), None
        for j in range(i + 1, len(lines)):
            if lines[j].strip() == fence:
                end = j
                break
        if end is None:
            raise ValueError(f"unclosed directive {{{m.group('name')}}} in markdown: {lines[i]!r}")
        if plain:
            out.append((None, "", plain))
            plain = []
        out.append((m.group("name"), m.group("arg").strip(), lines[i + 1:end]))
        i = end + 1
    if plain:
        out.append((None, "", plain))
    return out


def _directive_body(body: list[str]) -> str:
    """A directive's content without its ``:option:`` lines (the student form needs none of them)."""
    k = 0
    while k < len(body) and re.match(r"^:[a-z-]+:", body[k]):
        k += 1
    return "\n".join(body[k:]).strip("\n")


def convert_markdown(text: str, **context) -> tuple[str, list[tuple[str, str]]]:
    """One markdown cell in student form, and the solutions it held as (exercise label, markdown) pairs."""
    text = _replace_roles(text, **context)
    parts: list[str] = []
    solutions: list[tuple[str, str]] = []
    for name, arg, body in _blocks(text):
        if name is None:
            kept = [line for line in body if not _LABEL.match(line)]
            parts.append("\n".join(kept))
            continue
        inner = _directive_body(body)
        if name == "exercise":
            parts.append(f"### Exercise: {arg}\n\n{inner}")
        elif name == "solution":
            solutions.append((arg, inner))
            here = context["here"]
            parts.append(f"*The solution is in [solutions/{here}.ipynb](solutions/{here}.ipynb).*")
        elif name == "admonition" or name in ("note", "warning", "tip", "important", "caution"):
            title = arg or name.capitalize()
            quoted = "\n".join("> " + line if line else ">" for line in inner.split("\n"))
            parts.append(f"> **{title}.**\n>\n{quoted}")
        elif name == "math":
            parts.append(f"$$\n{inner}\n$$")
        else:
            raise ValueError(f"directive {{{name}}} has no student form; add one to causalrec_tutorial.student")
    return re.sub(r"\n{3,}", "\n\n", "\n".join(parts)).strip("\n"), solutions


def _is_solution_code(cell: dict) -> bool:
    return cell["cell_type"] == "code" and "hide-cell" in cell.get("metadata", {}).get("tags", [])


def _split(nb: dict) -> list[tuple[dict, list[dict]]]:
    """Each cell with the solution code cells that follow it (only a markdown cell holding a solution has any)."""
    pairs: list[tuple[dict, list[dict]]] = []
    i, cells = 0, nb["cells"]
    while i < len(cells):
        cell, attached = cells[i], []
        i += 1
        if cell["cell_type"] == "markdown" and "{solution}" in _cells_source(cell):
            while i < len(cells) and _is_solution_code(cells[i]):
                attached.append(cells[i])
                i += 1
        pairs.append((cell, attached))
    return pairs


def _names(source: str) -> tuple[set[str], set[str]]:
    """Names a code cell binds at top level and names it loads (IPython magics dropped)."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return set(), set()
    bound, loaded = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store) else loaded).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    return bound, loaded


def solution_dependencies(nb: dict) -> list[str]:
    """Names that a kept cell uses but that only an earlier removed solution binds: each would break the student
    notebook. Empty means the student notebook runs top to bottom like the book's."""
    kept_bound: set[str] = set()
    only_solution: set[str] = set()
    problems = []
    for cell, attached in _split(nb):
        if cell["cell_type"] == "code":
            bound, loaded = _names(_cells_source(cell))
            for name in sorted(loaded & only_solution - kept_bound):
                problems.append(f"{name!r} (used by: {_cells_source(cell).splitlines()[0][:60]!r})")
            kept_bound |= bound
        for sol in attached:
            only_solution |= _names(_cells_source(sol))[0] - kept_bound
    return problems


def _student_code(source: str) -> str:
    """A chapter cell's code without the test markers (``# NBVAL_CHECK_OUTPUT`` and the like)."""
    return "".join(line for line in source.splitlines(keepends=True) if not line.startswith("# NBVAL_"))


def _markdown_cell(text: str, cell_id: str) -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": text}


def _code_cell(source: str, cell_id: str, outputs: list | None = None) -> dict:
    return {"cell_type": "code", "id": cell_id, "metadata": {}, "execution_count": None,
            "outputs": outputs or [], "source": source}


def _figures_only(outputs: Iterable[dict]) -> list[dict]:
    kept = []
    for out in outputs:
        data = out.get("data", {})
        if out.get("output_type") in ("display_data", "execute_result") and "image/png" in data:
            kept.append({"output_type": "display_data", "metadata": out.get("metadata", {}),
                         "data": {k: v for k, v in data.items() if k in ("image/png", "text/plain")}})
    return kept


def _student_notebook(name: str, nb: dict, **context) -> tuple[dict, dict | None]:
    student = copy.deepcopy({k: v for k, v in nb.items() if k != "cells"})
    sol_cells: list[dict] = []
    cells: list[dict] = []
    ex_titles = {lab: title for lab, (where, title) in context["targets"].items() if where == name}
    for n, (cell, attached) in enumerate(_split(nb)):
        if cell["cell_type"] == "markdown":
            text, solutions = convert_markdown(_cells_source(cell), **context, here=name)
            cells.append(_markdown_cell(text, cell.get("id", f"md-{n}")))
            for label, sol_text in solutions:
                title = ex_titles.get(label, label)
                sol_cells.append(_markdown_cell(f"## Solution to {title.replace('Exercise: ', '')}\n\n{sol_text}",
                                                f"sol-{label}"))
                for k, code in enumerate(attached):
                    sol_cells.append(_code_cell(_cells_source(code), f"sol-{label}-{k}", code.get("outputs", [])))
                if attached:
                    cells.append(_code_cell("# your code here\n", f"try-{label}"))
            for label in re.findall(r"^:label:\s*(\S+)", _cells_source(cell), re.M):
                if label in CHECKS:
                    call = f'crt.exercises.check("{label}", ...)  # replace ... with {CHECKS[label].ask}\n'
                    cells.append(_code_cell(call, f"check-{label}"))
        elif cell["cell_type"] == "code":
            new = _code_cell(_student_code(_cells_source(cell)), cell.get("id", f"code-{n}"),
                             _figures_only(cell.get("outputs", [])))
            new["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k in ("tags",)}
            if "hide-cell" in new["metadata"].get("tags", []):  # bookkeeping (glue) cells: folded in JupyterLab too
                new["metadata"]["jupyter"] = {"source_hidden": True}
            cells.append(new)
        else:
            cells.append(copy.deepcopy(cell))
    student["cells"] = cells
    if not sol_cells:
        return student, None
    solutions_nb = copy.deepcopy({k: v for k, v in nb.items() if k != "cells"})
    head = (f"# Solutions: {context['titles'].get(name, name)}\n\nThe solutions of the chapter's exercises, with the "
            "outputs the book's run printed. Their code continues the chapter: run it inside the chapter's notebook "
            f"(`../{name}.ipynb`), after the cells above the exercise, not here on its own.")
    solutions_nb["cells"] = [_markdown_cell(head, "sol-head")] + sol_cells
    return student, solutions_nb


def raw_myst(nb: dict) -> list[str]:
    """Markdown lines of a notebook that still hold MyST markup (roles, labels, directive fences)."""
    found = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            found += [line for line in _cells_source(cell).splitlines() if _RAW.search(line)]
    return found


def write_student_edition(book_dir: pathlib.Path | str | None = None, out_dir: pathlib.Path | str | None = None,
                          chapters: Iterable[str] | None = None) -> StudentEdition:
    """Write the student edition of ``book_dir``'s executed notebooks into ``out_dir`` (default ``student/``)."""
    book_dir = pathlib.Path(book_dir or config.PROJECT_DIR / "book")
    out_dir = pathlib.Path(out_dir or config.PROJECT_DIR / "student")
    if not book_dir.is_dir():
        raise ValueError(f"book_dir {str(book_dir)!r} is not a folder")
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"out_dir {str(out_dir)!r} is a file, not a folder")
    book_real, out_real = book_dir.resolve(), out_dir.resolve()
    if out_real == book_real or book_real in out_real.parents:
        raise ValueError(f"out_dir {str(out_dir)!r} is the chapters' folder or inside it: the student edition "
                         "would overwrite or mix with the chapters; choose another folder (default: student/)")
    paths = sorted(book_dir.glob("*.ipynb"))
    if not paths:
        raise ValueError(f"book_dir {str(book_dir)!r} holds no notebooks")
    notebooks = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in paths}
    pages = {p.stem: p.read_text(encoding="utf-8") for p in book_dir.glob("*.md")}
    targets = labels(notebooks, pages)
    bib = book_dir / "references.bib"
    cites = bib_citations(bib.read_text(encoding="utf-8")) if bib.exists() else {}
    titles = {name: _notebook_title(nb) for name, nb in notebooks.items()}
    wanted = list(chapters) if chapters is not None else list(notebooks)
    unknown = [c for c in wanted if c not in notebooks]
    if unknown:
        raise ValueError(f"chapters {unknown} are not notebooks of {str(book_dir)!r}")
    context = {"cites": cites, "targets": targets, "titles": titles}
    written = StudentEdition()
    staged = {}
    for name in wanted:
        nb = notebooks[name]
        if not glue_values(nb) and "{glue:text}" in json.dumps(nb):
            raise ValueError(f"{name}.ipynb has no stored outputs: build the book (make book) before make student")
        broken = solution_dependencies(nb)
        if broken:
            raise ValueError(f"{name}.ipynb: kept cells use names only a solution defines: {', '.join(broken)}")
        student, solutions = _student_notebook(name, nb, values=glue_values(nb), **context)
        left = raw_myst(student)
        if left:
            raise ValueError(f"{name}.ipynb: MyST markup left in the student edition: {left[:3]}")
        staged[name] = (student, solutions)
    (out_dir / "solutions").mkdir(parents=True, exist_ok=True)
    for name, (student, solutions) in staged.items():
        path = out_dir / f"{name}.ipynb"
        _write_json(path, student)
        sol_path = None
        if solutions is not None:
            sol_path = out_dir / "solutions" / f"{name}.ipynb"
            _write_json(sol_path, solutions)
        written[name] = (path, sol_path)
    return written


def _write_json(path: pathlib.Path, nb: dict) -> None:
    tmp = path.with_suffix(".ipynb.tmp")
    tmp.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m causalrec_tutorial.student", description=__doc__.split("\n")[0])
    parser.add_argument("--book", default=None, help="folder of the executed chapters (default: book/)")
    parser.add_argument("--out", default=None, help="where to write the edition (default: student/)")
    args = parser.parse_args(argv)
    try:
        written = write_student_edition(args.book, args.out)
    except (ValueError, KeyError) as exc:
        print(f"student edition not written: {exc}", file=sys.stderr)
        return 1
    n_sol = sum(1 for _, s in written.values() if s is not None)
    out = next(iter(written.values()))[0].parent if written else args.out
    print(f"wrote {len(written)} student notebooks and {n_sol} solutions notebooks to {out}/; open them with: "
          f"jupyter lab {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
