"""Exports a llama-family folder (see model.py) to the ONNX layout transformers.js loads for chat.

transformers.js runs a decoder-only model as one graph, `onnx/model.onnx`, with the inputs
`input_ids`, `attention_mask`, `position_ids` and `past_key_values.N.key` / `.value`, and the outputs
`logits` and `present.N.key` / `.value` (the Hugging Face Optimum names). It builds the first, empty
cache from the graph's input shapes, so the cache's head and head_dim axes are fixed numbers and only
the batch and sequence axes are symbolic. `torch.onnx.export` writes the file without the `onnx` pip
package, so Debian's python3-torch is enough.

The graph computes exactly what `CausalLM.forward` does, plus the key/value cache, absolute positions
from `position_ids` and padding from `attention_mask`; `greedy` gives the reference tokens a parity
check compares an exported model's output with.
"""
import json
import math
import os

import torch
from torch import nn

from .model import copy_tokenizer, load_model


class CachedCausalLM(nn.Module):
    """`CausalLM` with a key/value cache, in the calling convention of Hugging Face ONNX exports."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids, *past):
        config = self.model.config
        backbone = self.model.model
        hidden = backbone.embed_tokens(input_ids)
        angles = position_ids[..., None].float() * self.model.inverse_frequencies
        angles = torch.cat((angles, angles), dim=-1)[:, None]
        cos, sin = angles.cos(), angles.sin()
        length = input_ids.shape[1]
        total = attention_mask.shape[1]
        query_index = torch.arange(length) + (total - length)
        causal = torch.arange(total)[None, :] > query_index[:, None]
        blocked = causal[None, None] | (attention_mask[:, None, None, :] == 0)
        presents = []
        for index, layer in enumerate(backbone.layers):
            attention = layer.self_attn
            normed = layer.input_layernorm(hidden)
            batch = normed.shape[0]
            query = attention.q_proj(normed).view(batch, length, config.heads, config.head_dim).transpose(1, 2)
            key = attention.k_proj(normed).view(batch, length, config.kv_heads, config.head_dim).transpose(1, 2)
            value = attention.v_proj(normed).view(batch, length, config.kv_heads, config.head_dim).transpose(1, 2)
            query = query * cos + rotate_half(query) * sin
            key = key * cos + rotate_half(key) * sin
            key = torch.cat((past[2 * index], key), dim=2)
            value = torch.cat((past[2 * index + 1], value), dim=2)
            presents += [key, value]
            if config.kv_heads != config.heads:
                repeat = config.heads // config.kv_heads
                key = key.repeat_interleave(repeat, dim=1)
                value = value.repeat_interleave(repeat, dim=1)
            scores = torch.matmul(query, key.transpose(2, 3)) / math.sqrt(config.head_dim)
            scores = scores.masked_fill(blocked, torch.finfo(scores.dtype).min)
            weights = torch.softmax(scores, dim=-1)
            output = torch.matmul(weights, value).transpose(1, 2).reshape(batch, length, -1)
            hidden = hidden + attention.o_proj(output)
            hidden = hidden + layer.mlp(layer.post_attention_layernorm(hidden))
        logits = self.model.lm_head(backbone.norm(hidden))
        return (logits, *presents)


def rotate_half(tensor):
    first, second = tensor.chunk(2, dim=-1)
    return torch.cat((-second, first), dim=-1)


def export_onnx(directory, output, opset=14):
    """Writes `output/onnx/model.onnx`, config.json, generation_config.json and the tokenizer files."""
    torch.set_num_threads(1)
    model = load_model(directory).eval()
    config = model.config
    wrapper = CachedCausalLM(model)
    names_in = ["input_ids", "attention_mask", "position_ids"]
    names_out = ["logits"]
    dynamic = {
        "input_ids": {0: "batch_size", 1: "sequence_length"},
        "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
        "position_ids": {0: "batch_size", 1: "sequence_length"},
        "logits": {0: "batch_size", 1: "sequence_length"},
    }
    past = []
    for layer in range(config.layers):
        for kind in ("key", "value"):
            names_in.append(f"past_key_values.{layer}.{kind}")
            names_out.append(f"present.{layer}.{kind}")
            dynamic[names_in[-1]] = {0: "batch_size", 2: "past_sequence_length"}
            dynamic[names_out[-1]] = {0: "batch_size", 2: "total_sequence_length"}
            past.append(torch.zeros(1, config.kv_heads, 2, config.head_dim))
    sample = (
        torch.tensor([[5, 6, 7]], dtype=torch.int64),
        torch.ones(1, 5, dtype=torch.int64),
        torch.tensor([[2, 3, 4]], dtype=torch.int64),
        *past,
    )
    os.makedirs(os.path.join(output, "onnx"), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            sample,
            os.path.join(output, "onnx", "model.onnx"),
            input_names=names_in,
            output_names=names_out,
            dynamic_axes=dynamic,
            opset_version=opset,
            do_constant_folding=True,
        )
    raw = dict(config.raw)
    raw["head_dim"] = config.head_dim
    with open(os.path.join(output, "config.json"), "w", encoding="utf-8") as handle:
        json.dump(raw, handle, indent=2)
    copy_tokenizer(directory, output)
    generation = os.path.join(output, "generation_config.json")
    if not os.path.isfile(generation):
        with open(generation, "w", encoding="utf-8") as handle:
            json.dump({key: raw[key] for key in ("bos_token_id", "eos_token_id") if key in raw}, handle, indent=2)
    return {"output": output, "inputs": names_in, "outputs": names_out}


def greedy(directory, tokens, count):
    """The `count` tokens the plain torch model picks greedily after `tokens` (no cache, no stop)."""
    torch.set_num_threads(1)
    model = load_model(directory).eval()
    sequence = list(tokens)
    with torch.no_grad():
        for _ in range(count):
            logits = model(torch.tensor([sequence]))[0, -1]
            sequence.append(int(torch.argmax(logits)))
    return sequence[len(tokens):]
