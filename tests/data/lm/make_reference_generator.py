"""Make ``gemma_reference.npz``: llama.cpp's tokenisation and next-token log-probs for Gemma 3 270M.

llama.cpp runs on the *same weights* as the course's keras-hub model: the fetched Q4_K_M GGUF with every tensor
dequantised to F32 (written to a temporary GGUF here), so both sides multiply the same numbers. Run in a throwaway
venv, never the project's (llama-cpp-python compiles llama.cpp from source, ~10-40 min on 2 cores)::

    python3 -m venv /tmp/llama && /tmp/llama/bin/pip install llama-cpp-python gguf numpy
    /tmp/llama/bin/python tests/data/lm/make_reference_generator.py data/assets/gemma3_270m/gemma-3-270m-q4_k_m.gguf

Stores, for ``gemma_texts.json``:
  * ``tok_ids`` / ``tok_lengths``: llama.cpp's tokens for each tokenizer text (no BOS, special tokens not parsed);
  * for each next-token prompt, with BOS: its tokens, the top-1 token and its log-prob at every position, and the
    top-5 tokens and log-probs at the last position (log-softmax over the full vocabulary, float64).
"""

import json
import pathlib
import sys
import tempfile

import gguf
import llama_cpp
import numpy as np
from gguf.quants import dequantize

HERE = pathlib.Path(__file__).resolve().parent


def write_f32(source: pathlib.Path, target: pathlib.Path) -> None:
    """Copy a GGUF with every tensor dequantised to F32 (metadata unchanged except the file type)."""
    reader = gguf.GGUFReader(str(source))
    writer = gguf.GGUFWriter(str(target), arch=reader.fields["general.architecture"].contents())
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        if name == "general.file_type":
            writer.add_file_type(gguf.LlamaFileType.ALL_F32)
            continue
        sub = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(name, field.contents(), field.types[0], sub_type=sub)
    for tensor in reader.tensors:
        writer.add_tensor(tensor.name, np.ascontiguousarray(dequantize(tensor.data, tensor.tensor_type), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def main() -> None:
    source = pathlib.Path(sys.argv[1]).resolve()
    data = json.loads((HERE / "gemma_texts.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        f32 = pathlib.Path(tmp) / "gemma-3-270m-f32.gguf"
        write_f32(source, f32)
        llm = llama_cpp.Llama(model_path=str(f32), n_ctx=1024, n_batch=1024, n_threads=2, logits_all=True,
                              verbose=False, seed=0)
        tok = [llm.tokenize(t.encode("utf-8"), add_bos=False, special=False) for t in data["tokenizer_texts"]]
        results = {"tok_lengths": np.array([len(t) for t in tok], np.int32),
                   "tok_ids": np.array([i for t in tok for i in t], np.int32)}
        prompt_ids, top1, top1_logp, top5, top5_logp = [], [], [], [], []
        for prompt in data["next_token_prompts"]:
            ids = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=False)
            llm.reset()
            llm.eval(ids)
            logp = log_softmax(np.array(llm.scores[: len(ids)]))
            prompt_ids.append(ids)
            top1.append(logp.argmax(axis=1))
            top1_logp.append(logp.max(axis=1))
            order = np.argsort(-logp[-1])[:5]
            top5.append(order)
            top5_logp.append(logp[-1][order])
        lengths = np.array([len(i) for i in prompt_ids], np.int32)
        results.update(
            prompt_lengths=lengths, prompt_ids=np.concatenate(prompt_ids).astype(np.int32),
            top1=np.concatenate(top1).astype(np.int32), top1_logp=np.concatenate(top1_logp),
            top5=np.array(top5, np.int32), top5_logp=np.array(top5_logp),
            versions=np.array([f"llama-cpp-python {llama_cpp.__version__}", f"gguf {gguf.__version__}"
                               if hasattr(gguf, "__version__") else "gguf"]))
    np.savez_compressed(HERE / "gemma_reference.npz", **results)
    print(f"{len(tok)} texts tokenised, {len(prompt_ids)} prompts, {int(lengths.sum())} positions")


if __name__ == "__main__":
    main()
