"""Language models for the course: sentence embeddings, a small generator, an on-disk cache and versioned prompts.

    enc = crt.lm.TextEncoder()                 # MiniLM-L6-v2 in Keras; crt.lm.TfidfEncoder() as the baseline
    gen = crt.lm.TextGenerator()               # Gemma 3 270M (GGUF -> keras-hub), greedy
    crt.lm.prompts.RANK_CANDIDATES.render(...) # few-shot templates, each with a version in the cache key
    crt.lm.cache.size(), crt.lm.cache.clear()
    crt.lm.TextGenerator(backend=crt.lm.backends.OpenAICompatible(url, model))   # a larger model over HTTP

Nothing heavy happens at import: TensorFlow is imported, and models are loaded, on first use.

Book: appendix_a_language_models.ipynb
"""

from __future__ import annotations

from . import backends, cache, prompts
from .encoder import TextEncoder, TfidfEncoder
from .generator import TextGenerator

__all__ = ["TextEncoder", "TfidfEncoder", "TextGenerator", "backends", "cache", "prompts"]
