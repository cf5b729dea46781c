"""Make ``gemma_texts.json``: varied texts for the tokenizer check and prompts for the next-token check.

Run once in the project's venv (needs the ``movielens_100k`` asset)::

    python tests/data/lm/make_gemma_texts.py

Texts: every 6th MovieLens-100K title with its year and genres (accents, apostrophes, parentheses, digits,
commas, foreign titles), the MiniLM test sentences, and hand-written edge cases (runs of spaces, tabs and newlines,
leading spaces, emoji, CJK, code, URLs, long digit strings, special-token look-alikes).
"""

import json
import pathlib

import numpy as np

from causalrec_tutorial import assets
from causalrec_tutorial.lm import prompts

HERE = pathlib.Path(__file__).resolve().parent

EDGE = [
    "", " ", "  ", "   leading spaces", "trailing spaces   ", "a  b   c    d", "tab\tseparated\tvalues",
    "line one\nline two", "para one\n\npara two", "\n\n\nthree newlines first", "mixed \t\n whitespace \n\t",
    "Hello, world!", "hello world", "HELLO WORLD", "12345678901234567890", "3.14159 2.71828 1e-6 -42",
    "2025-11-27T23:45:00Z", "$1,000,000.00 and 50% off", "naïve café résumé Zürich São Paulo", "Ærøskøbing Ñandú",
    "東京の映画館で映画を見ました。", "你好，世界", "안녕하세요", "Привет, как дела?", "مرحبا بالعالم", "नमस्ते दुनिया",
    "Emoji 🎬🍿😀👍🏽", "def f(x):\n    return x ** 2  # square", "for (int i = 0; i < n; ++i) { a[i] = 0; }",
    "https://example.org/path?q=1&r=two#frag", "someone@example.com", "<bos> is not special here",
    "<start_of_turn>user", "[multimodal] token", "<unk> <pad> <eos>", "```python\nprint('hi')\n```",
    "He said: \"don't\" — she said: 'won't'…", "a/b\\c|d~e^f", "α β γ δ ε ∑ ∫ √ ∞ ≤ ≥", "¡¿Qué?!", "œuvre ﬁ ligature",
    "\u00a0non-breaking\u00a0space", "zero\u200bwidth", "x" * 300, "ab " * 100, "The end.",
]


def main() -> None:
    items = assets.path("movielens_100k", "ml-100k.item").read_text(encoding="utf-8").splitlines()[1:]
    titles = []
    for line in items[::6]:
        _, title, year, genres = line.split("\t")
        titles.append(f"{title} ({year}): {', '.join(genres.split())}")
    sentences = json.loads((HERE / "minilm_sentences.json").read_text())
    texts = EDGE + titles + sentences
    rng = np.random.default_rng(7)
    picks = rng.choice(len(titles), size=(10, 3), replace=False)
    next_token = [
        "The capital of France is",
        "Once upon a time, there was a",
        "def add(a, b):\n    return",
        "1, 2, 3, 4, 5,",
        "The movie was so boring that I",
        "Users who liked Star Wars (1977) also liked",
        "Recommendation systems learn from clicks, but clicks are biased by",
    ] + [prompts.RANK_CANDIDATES.render(items=[titles[i].split(":")[0] for i in row[:2]]) for row in picks[:3]] + [
        prompts.INTEREST_SUMMARY.render(items=[titles[i].split(":")[0] for i in picks[3]]),
        prompts.GROUNDED_RECOMMENDATION.render(items=[titles[i].split(":")[0] for i in picks[4][:2]],
                                               item=titles[picks[4][2]].split(":")[0],
                                               facts=titles[picks[4][2]].split(": ")[1]),
    ]
    out = {"tokenizer_texts": texts, "next_token_prompts": next_token}
    (HERE / "gemma_texts.json").write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(texts)} tokenizer texts, {len(next_token)} next-token prompts")


if __name__ == "__main__":
    main()
