"""The yardstick of bench/train: the barest torch training loop over the same model and batches.

Same model class, same token file, same batch shape as the job, AdamW; no data-parallel wrapper,
no schedule, no clipping, no logging, no checkpoints. Prints {"tokens_per_second": ...}.
"""
import argparse
import json
import sys
import time

import torch

sys.path.insert(0, sys.argv[sys.argv.index("--package") + 1])
from byzerllm_train.model import load_model  # noqa: E402
from byzerllm_train.token_data import TokenFile, collate  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--package", required=True)
parser.add_argument("--model", required=True)
parser.add_argument("--tokens", required=True)
parser.add_argument("--batch", type=int, required=True)
parser.add_argument("--length", type=int, required=True)
parser.add_argument("--steps", type=int, required=True)
parser.add_argument("--threads", type=int, default=1)
arguments = parser.parse_args()

torch.set_num_threads(arguments.threads)
torch.manual_seed(42)
model = load_model(arguments.model, initialise=True)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
data = TokenFile(arguments.tokens)
batches = [
    collate(data, [(step * arguments.batch + row) % data.count for row in range(arguments.batch)], arguments.length, 0)
    for step in range(arguments.steps)
]
tokens = 0
started = time.time()
for inputs, targets, _mask in batches:
    logits = model(inputs)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    tokens += inputs.numel()
print(json.dumps({"tokens_per_second": tokens / (time.time() - started)}))
