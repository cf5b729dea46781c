"""Make ``minilm_reference.npz``: sentence-transformers' embeddings of fixed sentences with all-MiniLM-L6-v2.

Run in a throwaway venv, never in the project's (it needs PyTorch), loading the model offline from the same files
the course fetches (``python -m causalrec_tutorial.assets fetch minilm``)::

    python3 -m venv /tmp/st && /tmp/st/bin/pip install torch==2.13.0 sentence-transformers
    HF_HUB_OFFLINE=1 /tmp/st/bin/python tests/data/lm/make_reference_encoder.py data/assets/minilm

Stores the sentences, the L2-normalised embeddings (float32, (n, 384)) and the token ids that the Hugging Face
tokenizer produced (with max_seq_length=256 truncation), padded with -1.
"""

import json
import pathlib
import sys

import numpy as np
import sentence_transformers
import torch

HERE = pathlib.Path(__file__).resolve().parent


def main() -> None:
    folder = pathlib.Path(sys.argv[1]).resolve()
    sentences = json.loads((HERE / "minilm_sentences.json").read_text())
    model = sentence_transformers.SentenceTransformer(str(folder), device="cpu")
    assert model.max_seq_length == 256, model.max_seq_length
    emb = model.encode(sentences, batch_size=8, normalize_embeddings=True, convert_to_numpy=True)
    ids = [model.tokenizer(s, truncation=True, max_length=model.max_seq_length)["input_ids"] for s in sentences]
    width = max(len(i) for i in ids)
    padded = np.full((len(ids), width), -1, dtype=np.int32)
    for row, seq in enumerate(ids):
        padded[row, : len(seq)] = seq
    np.savez_compressed(HERE / "minilm_reference.npz", sentences=np.array(sentences), embeddings=emb.astype(np.float32),
                        token_ids=padded,
                        versions=np.array([f"sentence-transformers {sentence_transformers.__version__}",
                                           f"torch {torch.__version__}"]))
    print(f"{len(sentences)} sentences, embeddings {emb.shape}, longest {width} tokens")


if __name__ == "__main__":
    main()
