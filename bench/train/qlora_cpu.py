"""bench/train: the CPU cost of QLoRA's 4-bit base against plain LoRA, per trained token.

Same llama-shaped model (vocabulary and config of a Hugging Face folder, resized to n_embd 128,
2 layers, random init), same random batch (4 x 64 tokens), LoRA rank 8 on every projection, AdamW,
one torch thread. "lora" keeps the frozen base in f32; "qlora" holds it as NF4 blocks and
dequantises in every forward pass. Rounds alternate lora / qlora; each reports process CPU
microseconds per token (CPU time, not wall time: the machine is shared).

Run: /usr/bin/python3 bench/train/qlora_cpu.py --model ~/.byzerllm/models/tiny-llama-v1-hf [--steps 5] [--rounds 2]
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from byzerllm_train.lora import apply_lora  # noqa: E402
from byzerllm_train.model import CausalLM, ModelConfig  # noqa: E402
from byzerllm_train.quantize import quantize_lora_bases  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--steps", type=int, default=5)
parser.add_argument("--rounds", type=int, default=2)
arguments = parser.parse_args()
torch.set_num_threads(1)
with open(os.path.join(arguments.model, "config.json"), encoding="utf-8") as handle:
    raw = json.load(handle)
raw.update(hidden_size=128, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4)
BATCH, LENGTH = 4, 64


def step(model, optimizer, data):
    logits = model(data[:, :-1])
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, raw["vocab_size"]), data[:, 1:].reshape(-1))
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()


def measure(quantized):
    torch.manual_seed(0)
    model = CausalLM(ModelConfig(raw))
    apply_lora(model, rank=8, alpha=16, dropout=0.0)
    if quantized:
        quantize_lora_bases(model)
    optimizer = torch.optim.AdamW([parameter for parameter in model.parameters() if parameter.requires_grad], lr=1e-3)
    data = torch.randint(0, raw["vocab_size"], (BATCH, LENGTH + 1))
    step(model, optimizer, data)  # warm-up
    started = time.process_time()
    for _ in range(arguments.steps):
        step(model, optimizer, data)
    return (time.process_time() - started) / (arguments.steps * BATCH * LENGTH) * 1e6


results = {"lora": [], "qlora": []}
for _ in range(arguments.rounds):
    results["lora"].append(measure(False))
    results["qlora"].append(measure(True))
median = {name: sorted(values)[len(values) // 2] for name, values in results.items()}
print(json.dumps({"cpu_us_per_token": results, "qlora_over_lora": median["qlora"] / median["lora"]}))
