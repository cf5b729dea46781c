"""Gemma 3 270M: from the fetched GGUF file to a keras-hub ``Gemma3CausalLM`` (TensorFlow), converted once.

The GGUF (llama.cpp's format, Q4_K_M) is read with ``gguf.GGUFReader``; every tensor is dequantised to float32
with ``gguf.quants.dequantize`` and assigned to a keras-hub ``Gemma3Backbone``. What differs between the formats:

* llama.cpp stores every RMSNorm weight as ``w + 1`` (it computes ``x * w``), keras-hub computes ``x * (1 + w)``:
  all six kinds of norm get ``gguf - 1``.
* Dequantised matrices come out as ``(out, in)``, like PyTorch: q/k/v ``(heads*256, 640)`` become
  ``(heads, 640, 256)``, the attention output ``(640, heads*256)`` becomes ``(heads, 256, 640)``, FFN matrices are
  transposed. The token embedding is tied to the output layer.
* The tokenizer is rebuilt as a SentencePiece ``ModelProto`` from the GGUF's tokens, scores and types (BPE, byte
  fallback, identity normaliser, no dummy prefix); ``<unk>`` is typed UNKNOWN, and the user-defined whitespace
  pieces get their ``▁`` back (llama.cpp's converter writes them as spaces).

The result is saved as a keras-hub preset in ``config.cache_dir() / "models"`` (about 1 GB, float32); later loads
take about 10 s. The weights are Q4_K_M-quantised values, so the model matches llama.cpp on the same file, not
the original bfloat16 checkpoint exactly.

Book: appendix_a_language_models.ipynb, sec-lm-generator
"""

from __future__ import annotations

import pathlib

import numpy as np

from .. import config
from .presets import save_preset

GGUF_FILE = "gemma-3-270m-q4_k_m.gguf"
_PRESET_VERSION = "1"

#: keras-hub ``Gemma3Backbone`` arguments for Gemma 3 270M.
BACKBONE_ARGS = dict(
    vocabulary_size=262144, image_size=None, num_layers=18, num_query_heads=4, num_key_value_heads=1,
    hidden_dim=640, intermediate_dim=2048, head_dim=256, query_head_dim_normalize=True, use_query_key_norm=True,
    use_post_ffw_norm=True, use_post_attention_norm=True, use_sliding_window_attention=True,
    sliding_window_size=512, layer_norm_epsilon=1e-6,
)

# GGUF token types (the same numbers as SentencePiece's piece types).
_NORMAL, _UNKNOWN, _CONTROL, _USER_DEFINED, _UNUSED, _BYTE = 1, 2, 3, 4, 5, 6


def gguf_path() -> pathlib.Path:
    """The GGUF file of the ``gemma3_270m`` asset (``AssetError`` naming the fetch command if it is missing).

    Book: appendix_a_language_models.ipynb, sec-lm-generator
    """
    from .. import assets

    return assets.path("gemma3_270m", GGUF_FILE)


def model_id() -> str:
    """``"gemma-3-270m-q4_k_m@<sha256 prefix>"``: names the weights in cache keys.

    Book: appendix_a_language_models.ipynb, sec-lm-cost
    """
    from .. import assets

    sha = next(f.sha256 for f in assets.MANIFEST["gemma3_270m"].files if f.path == GGUF_FILE)
    return f"gemma-3-270m-q4_k_m@{sha[:16]}"


def _field(reader, name):
    return reader.fields[name]


def _strings(reader, name) -> list[str]:
    field = _field(reader, name)
    return [bytes(field.parts[i]).decode("utf-8") for i in field.data]


def _numbers(reader, name) -> list:
    field = _field(reader, name)
    return [field.parts[i][0].item() for i in field.data]


def _scalar(reader, name):
    field = _field(reader, name)
    return field.parts[field.data[0]][0].item()


def sentencepiece_proto(reader) -> bytes:
    """A serialized SentencePiece ``ModelProto`` equivalent to the GGUF's tokenizer.

    Args:
        reader: a ``gguf.GGUFReader`` of the model file.

    Returns:
        The proto's bytes, for ``keras_hub.models.Gemma3Tokenizer(proto=..., has_vision_tokens=False)``.

    Book: appendix_a_language_models.ipynb, sec-lm-generator
    """
    from sentencepiece import sentencepiece_model_pb2 as spm

    tokens = _strings(reader, "tokenizer.ggml.tokens")
    scores = _numbers(reader, "tokenizer.ggml.scores")
    types = _numbers(reader, "tokenizer.ggml.token_type")
    unk = _scalar(reader, "tokenizer.ggml.unknown_token_id")
    proto = spm.ModelProto()
    for i, (piece, score, kind) in enumerate(zip(tokens, scores, types)):
        if i == unk:
            kind = _UNKNOWN
        elif kind == _USER_DEFINED and piece.strip(" ") == "" and piece:
            piece = piece.replace(" ", "\u2581")
        entry = proto.pieces.add()
        entry.piece, entry.score, entry.type = piece, float(score), int(kind)
    trainer = proto.trainer_spec
    trainer.model_type = spm.TrainerSpec.BPE
    trainer.vocab_size = len(tokens)
    trainer.byte_fallback = True
    trainer.unk_id = unk
    trainer.bos_id = _scalar(reader, "tokenizer.ggml.bos_token_id")
    trainer.eos_id = _scalar(reader, "tokenizer.ggml.eos_token_id")
    trainer.pad_id = _scalar(reader, "tokenizer.ggml.padding_token_id")
    trainer.unk_piece, trainer.bos_piece = tokens[unk], tokens[trainer.bos_id]
    trainer.eos_piece, trainer.pad_piece = tokens[trainer.eos_id], tokens[trainer.pad_id]
    trainer.allow_whitespace_only_pieces = True
    trainer.split_digits = True
    norm = proto.normalizer_spec
    norm.name = "identity"
    norm.add_dummy_prefix = False
    norm.remove_extra_whitespaces = False
    norm.escape_whitespaces = True
    return proto.SerializeToString()


def _dequantized(reader) -> dict[str, np.ndarray]:
    from gguf.quants import dequantize

    out = {}
    for tensor in reader.tensors:
        out[tensor.name] = np.asarray(dequantize(tensor.data, tensor.tensor_type), dtype=np.float32)
    return out


def build_backbone(reader, dtype: str = "float32"):
    """A keras-hub ``Gemma3Backbone`` holding the GGUF's weights, dequantised to float32.

    Args:
        reader: a ``gguf.GGUFReader`` of the model file.
        dtype: the backbone's dtype policy (``"float32"`` or ``"bfloat16"``).

    Book: appendix_a_language_models.ipynb, sec-lm-generator
    """
    config.import_keras()
    import keras_hub

    w = _dequantized(reader)
    backbone = keras_hub.models.Gemma3Backbone(**BACKBONE_ARGS, dtype=dtype)
    heads, kv_heads, head_dim, hidden = 4, 1, 256, 640

    def qkv(x, n):  # (n*256, 640) -> (n, 640, 256)
        return x.reshape(n, head_dim, hidden).transpose(0, 2, 1)

    backbone.get_layer("token_embedding").embeddings.assign(w["token_embd.weight"])
    for i, layer in enumerate(backbone.transformer_layers):
        p = f"blk.{i}."
        layer.pre_attention_norm.scale.assign(w[p + "attn_norm.weight"] - 1)
        layer.post_attention_norm.scale.assign(w[p + "post_attention_norm.weight"] - 1)
        layer.pre_ffw_norm.scale.assign(w[p + "ffn_norm.weight"] - 1)
        layer.post_ffw_norm.scale.assign(w[p + "post_ffw_norm.weight"] - 1)
        att = layer.attention
        att.query_norm.scale.assign(w[p + "attn_q_norm.weight"] - 1)
        att.key_norm.scale.assign(w[p + "attn_k_norm.weight"] - 1)
        att.query_dense.kernel.assign(qkv(w[p + "attn_q.weight"], heads))
        att.key_dense.kernel.assign(qkv(w[p + "attn_k.weight"], kv_heads))
        att.value_dense.kernel.assign(qkv(w[p + "attn_v.weight"], kv_heads))
        att.output_dense.kernel.assign(w[p + "attn_output.weight"].reshape(hidden, heads, head_dim).transpose(1, 2, 0))
        layer.gating_ffw.kernel.assign(w[p + "ffn_gate.weight"].T)
        layer.gating_ffw_2.kernel.assign(w[p + "ffn_up.weight"].T)
        layer.ffw_linear.kernel.assign(w[p + "ffn_down.weight"].T)
    backbone.get_layer("final_normalization").scale.assign(w["output_norm.weight"] - 1)
    return backbone


def gemma_preset(progress: bool = True) -> pathlib.Path:
    """The keras-hub preset folder of Gemma 3 270M in the cache, converted from the GGUF on first use (~1 min).

    Raises:
        AssetError: if the ``gemma3_270m`` asset has not been fetched (the message names the command).

    Book: appendix_a_language_models.ipynb, sec-lm-generator
    """
    source = gguf_path()
    target = config.cache_dir() / "models" / f"gemma3-270m-kerashub-v{_PRESET_VERSION}-{model_id().split('@')[1]}"
    if (target / "config.json").is_file() and (target / "tokenizer.json").is_file():
        return target
    config.import_keras()
    import gguf
    import keras_hub

    if progress:
        print(f"converting {source.name} into a keras-hub preset at {target} (once, about a minute)", flush=True)
    reader = gguf.GGUFReader(str(source))
    with config._stderr_fd_silenced():  # sentencepiece logs "precompiled_charsmap is empty" to fd 2
        tokenizer = keras_hub.models.Gemma3Tokenizer(proto=sentencepiece_proto(reader), has_vision_tokens=False)
    backbone = build_backbone(reader)
    del reader
    return save_preset(target, backbone, tokenizer)
