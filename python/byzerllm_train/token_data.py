"""The token file written by byzerllm (src/train/token-file.ts) and the batches read from it.

Layout: the 8 bytes `BZTOKENS`, a little-endian u64 header length, a JSON header
{"version": 1, "examples": N, "tokens": T}, padding to 8 bytes, N+1 little-endian int64 offsets,
T int32 token ids, then T uint8 loss-mask bytes (1 where the token is a target: answers in
finetuning, everything in pretraining). Example i is tokens[offsets[i]:offsets[i+1]].
"""
import json
import math
import struct

import torch

MAGIC = b"BZTOKENS"


class TokenFile:
    def __init__(self, path):
        with open(path, "rb") as handle:
            data = handle.read()
        if data[:8] != MAGIC:
            raise ValueError(f"{path}: not a byzerllm token file")
        (header_length,) = struct.unpack("<Q", data[8:16])
        header = json.loads(data[16 : 16 + header_length].decode("utf-8"))
        if header.get("version") != 1:
            raise ValueError(f"{path}: token file version {header.get('version')} is not supported; allowed: 1")
        position = 16 + header_length
        position += (8 - position % 8) % 8
        count, total = int(header["examples"]), int(header["tokens"])
        buffer = bytearray(data)
        self.offsets = torch.frombuffer(buffer, dtype=torch.int64, count=count + 1, offset=position)
        position += 8 * (count + 1)
        self.tokens = torch.frombuffer(buffer, dtype=torch.int32, count=total, offset=position) if total else torch.zeros(0, dtype=torch.int32)
        position += 4 * total
        self.mask = torch.frombuffer(buffer, dtype=torch.uint8, count=total, offset=position) if total else torch.zeros(0, dtype=torch.uint8)
        self.count = count
        self.header = header

    def example(self, index):
        begin, end = int(self.offsets[index]), int(self.offsets[index + 1])
        return self.tokens[begin:end].long(), self.mask[begin:end].bool()


def collate(token_file, indices, max_length, pad_id):
    """Inputs, targets and target mask [batch, length]; targets are the inputs shifted by one."""
    examples = [token_file.example(index) for index in indices]
    length = min(max_length + 1, max(len(tokens) for tokens, _ in examples))
    inputs = torch.full((len(examples), length - 1), pad_id, dtype=torch.long)
    targets = torch.full((len(examples), length - 1), pad_id, dtype=torch.long)
    mask = torch.zeros((len(examples), length - 1), dtype=torch.bool)
    for row, (tokens, token_mask) in enumerate(examples):
        tokens, token_mask = tokens[:length], token_mask[:length]
        size = len(tokens) - 1
        if size <= 0:
            continue
        inputs[row, :size] = tokens[:-1]
        targets[row, :size] = tokens[1:]
        mask[row, :size] = token_mask[1:]
    return inputs, targets, mask


def epoch_batches(count, epoch, seed, rank, world_size, batch_size, shuffle=True):
    """This rank's batches of example indices for one epoch; every rank gets the same number."""
    if shuffle:
        generator = torch.Generator().manual_seed(seed + epoch)
        order = torch.randperm(count, generator=generator).tolist()
    else:
        order = list(range(count))
    per_step = world_size * batch_size
    steps = max(1, math.ceil(count / per_step))
    padded = (order * math.ceil(steps * per_step / max(1, count)))[: steps * per_step]
    mine = padded[rank::world_size]
    return [mine[index : index + batch_size] for index in range(0, len(mine), batch_size)]
