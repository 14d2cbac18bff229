"""A llama-family causal language model in plain torch, and the Hugging Face folder layout.

Covers the `llama`, `mistral` and `qwen2` architectures: RMSNorm, rotary position embeddings in the
Hugging Face "rotate half" convention, grouped-query attention, SwiGLU feed-forward; qwen2 adds
biases to the q/k/v projections. Parameter names are the Hugging Face ones
(`model.layers.0.self_attn.q_proj.weight`, ...), so `model.safetensors` loads and saves as is.
"""
import json
import math
import os
import shutil

import torch
import torch.nn.functional as functional
from torch import nn

from .safetensors_io import load_file, save_file

ARCHITECTURES = {
    "LlamaForCausalLM": "llama",
    "MistralForCausalLM": "mistral",
    "Qwen2ForCausalLM": "qwen2",
}
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "tokenizer.model",
    "special_tokens_map.json",
    "generation_config.json",
)


class UnsupportedModel(ValueError):
    """The folder's architecture or a config field cannot be honoured."""


class ModelConfig:
    def __init__(self, raw):
        architectures = raw.get("architectures") or []
        known = [name for name in architectures if name in ARCHITECTURES]
        if not known:
            allowed = ", ".join(sorted(ARCHITECTURES))
            raise UnsupportedModel(f"architecture {architectures or raw.get('model_type')} is not supported; allowed: {allowed}")
        rope_scaling = raw.get("rope_scaling")
        if rope_scaling and rope_scaling.get("type", rope_scaling.get("rope_type")) not in (None, "default"):
            raise UnsupportedModel(f"rope_scaling {rope_scaling} is not supported")
        self.raw = raw
        self.architecture = ARCHITECTURES[known[0]]
        self.hidden_size = int(raw["hidden_size"])
        self.intermediate_size = int(raw["intermediate_size"])
        self.layers = int(raw["num_hidden_layers"])
        self.heads = int(raw["num_attention_heads"])
        self.kv_heads = int(raw.get("num_key_value_heads") or self.heads)
        self.head_dim = int(raw.get("head_dim") or self.hidden_size // self.heads)
        self.vocab_size = int(raw["vocab_size"])
        self.rms_norm_eps = float(raw.get("rms_norm_eps", 1e-6))
        self.rope_theta = float(raw.get("rope_theta", 10000.0))
        self.tie_word_embeddings = bool(raw.get("tie_word_embeddings", False))
        self.qkv_bias = self.architecture == "qwen2" or bool(raw.get("attention_bias", False))
        self.max_positions = int(raw.get("max_position_embeddings", 2048))


class RMSNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, hidden):
        dtype = hidden.dtype
        hidden = hidden.float()
        hidden = hidden * torch.rsqrt(hidden.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * hidden.to(dtype)


def rotate_half(tensor):
    first, second = tensor.chunk(2, dim=-1)
    return torch.cat((-second, first), dim=-1)


class Attention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        inner = config.heads * config.head_dim
        kv_inner = config.kv_heads * config.head_dim
        self.q_proj = nn.Linear(config.hidden_size, inner, bias=config.qkv_bias)
        self.k_proj = nn.Linear(config.hidden_size, kv_inner, bias=config.qkv_bias)
        self.v_proj = nn.Linear(config.hidden_size, kv_inner, bias=config.qkv_bias)
        self.o_proj = nn.Linear(inner, config.hidden_size, bias=False)

    def forward(self, hidden, cos, sin, mask):
        batch, length, _ = hidden.shape
        config = self.config
        query = self.q_proj(hidden).view(batch, length, config.heads, config.head_dim).transpose(1, 2)
        key = self.k_proj(hidden).view(batch, length, config.kv_heads, config.head_dim).transpose(1, 2)
        value = self.v_proj(hidden).view(batch, length, config.kv_heads, config.head_dim).transpose(1, 2)
        query = query * cos + rotate_half(query) * sin
        key = key * cos + rotate_half(key) * sin
        if config.kv_heads != config.heads:
            repeat = config.heads // config.kv_heads
            key = key.repeat_interleave(repeat, dim=1)
            value = value.repeat_interleave(repeat, dim=1)
        scores = torch.matmul(query, key.transpose(2, 3)) / math.sqrt(config.head_dim)
        scores = scores + mask
        weights = functional.softmax(scores.float(), dim=-1).to(query.dtype)
        output = torch.matmul(weights, value).transpose(1, 2).reshape(batch, length, -1)
        return self.o_proj(output)


class FeedForward(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)

    def forward(self, hidden):
        return self.down_proj(functional.silu(self.gate_proj(hidden)) * self.up_proj(hidden))


class DecoderLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.self_attn = Attention(config)
        self.mlp = FeedForward(config)
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)

    def forward(self, hidden, cos, sin, mask):
        hidden = hidden + self.self_attn(self.input_layernorm(hidden), cos, sin, mask)
        return hidden + self.mlp(self.post_attention_layernorm(hidden))


class Backbone(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList([DecoderLayer(config) for _ in range(config.layers)])
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)


class CausalLM(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.model = Backbone(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        inverse = 1.0 / (config.rope_theta ** (torch.arange(0, config.head_dim, 2).float() / config.head_dim))
        self.register_buffer("inverse_frequencies", inverse, persistent=False)

    def rotary(self, length, device, dtype):
        positions = torch.arange(length, device=device).float()
        frequencies = torch.outer(positions, self.inverse_frequencies.to(device))
        angles = torch.cat((frequencies, frequencies), dim=-1)
        return angles.cos().to(dtype)[None, None], angles.sin().to(dtype)[None, None]

    def forward(self, input_ids):
        """Logits [batch, length, vocab] for token ids [batch, length] (causal, no cache)."""
        length = input_ids.shape[1]
        hidden = self.model.embed_tokens(input_ids)
        cos, sin = self.rotary(length, input_ids.device, hidden.dtype)
        mask = torch.full((length, length), float("-inf"), device=input_ids.device).triu(1)[None, None]
        for layer in self.model.layers:
            hidden = layer(hidden, cos, sin, mask.to(hidden.dtype))
        return self.lm_head(self.model.norm(hidden))


def read_config(directory):
    path = os.path.join(directory, "config.json")
    if not os.path.isfile(path):
        raise UnsupportedModel(f"{directory} has no config.json (a Hugging Face model folder is expected)")
    with open(path, encoding="utf-8") as handle:
        return ModelConfig(json.load(handle))


def weight_files(directory):
    single = os.path.join(directory, "model.safetensors")
    if os.path.isfile(single):
        return [single]
    index = os.path.join(directory, "model.safetensors.index.json")
    if os.path.isfile(index):
        with open(index, encoding="utf-8") as handle:
            names = sorted(set(json.load(handle)["weight_map"].values()))
        return [os.path.join(directory, name) for name in names]
    raise UnsupportedModel(f"{directory} has no model.safetensors (only safetensors weights are read)")


def load_model(directory, dtype=torch.float32, initialise=False):
    """Builds the model of `directory`; loads its weights unless `initialise` (pretraining from a config)."""
    config = read_config(directory)
    model = CausalLM(config)
    if initialise:
        generator = torch.Generator().manual_seed(int(config.raw.get("seed", 42)))
        for name, parameter in model.named_parameters():
            with torch.no_grad():
                if name.endswith("norm.weight"):
                    parameter.fill_(1.0)
                elif name.endswith(".bias"):
                    parameter.zero_()
                else:
                    parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.02)
        return model.to(dtype)
    state = {}
    for path in weight_files(directory):
        tensors, _ = load_file(path)
        state.update(tensors)
    if config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    expected = set(model.state_dict().keys())
    if config.tie_word_embeddings:
        expected.discard("lm_head.weight")
    missing = sorted(expected - set(state))
    if missing:
        raise UnsupportedModel(f"{directory}: weights missing: {', '.join(missing[:5])}")
    state = {name: value.to(torch.float32) for name, value in state.items() if name in expected}
    model.load_state_dict(state, strict=False)
    return model.to(dtype)


def save_model(model, directory, source_directory, dtype=torch.float32):
    """Writes config.json, model.safetensors and the source's tokenizer files to `directory`."""
    os.makedirs(directory, exist_ok=True)
    state = {name: tensor.to(dtype) for name, tensor in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    save_file(state, os.path.join(directory, "model.safetensors"), {"format": "pt"})
    raw = dict(model.config.raw)
    raw["torch_dtype"] = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}[dtype]
    with open(os.path.join(directory, "config.json"), "w", encoding="utf-8") as handle:
        json.dump(raw, handle, indent=2)
    copy_tokenizer(source_directory, directory)


def copy_tokenizer(source_directory, directory):
    for name in TOKENIZER_FILES:
        source = os.path.join(source_directory, name)
        if os.path.isfile(source) and os.path.abspath(source) != os.path.abspath(os.path.join(directory, name)):
            shutil.copyfile(source, os.path.join(directory, name))
