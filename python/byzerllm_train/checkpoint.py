"""Checkpoints: the trainable weights, optimizer and step, written by worker 0 every N steps.

`<dir>/step-<N>/tensors.safetensors` (weights and optimizer moments) and `state.json` (step,
optimizer hyper-parameters, anything else that is not a tensor), plus `<dir>/latest` naming the
newest. No pickle: reading a checkpoint cannot run code. Older ones beyond `keep` are removed.

Only worker 0 writes them, so when a job spread over several machines resumes, the other machines
have none: `read_shared` sends rank 0's newest over the job's own process group to every worker
that does not hold it on its disk (workers on rank 0's machine read it there).
"""
import json
import os
import re
import shutil

import torch

from .safetensors_io import load_bytes, save_file

FILES = ("state.json", "tensors.safetensors")
NAME = re.compile(r"^step-\d{8}$")


def save(directory, step, model, optimizer, extra, keep=2):
    target = os.path.join(directory, f"step-{step:08d}")
    temporary = f"{target}.tmp"
    shutil.rmtree(temporary, ignore_errors=True)
    os.makedirs(temporary)
    tensors = {f"model.{name}": parameter.detach().cpu() for name, parameter in model.named_parameters() if parameter.requires_grad}
    optimizer_state = optimizer.state_dict()
    scalars = {}
    for index, state in optimizer_state["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{index}.{key}"] = value.detach().cpu()
            else:
                scalars[f"{index}.{key}"] = value
    save_file(tensors, os.path.join(temporary, "tensors.safetensors"))
    with open(os.path.join(temporary, "state.json"), "w", encoding="utf-8") as handle:
        json.dump({"step": step, "param_groups": optimizer_state["param_groups"], "optimizer_scalars": scalars,
                   "extra": extra}, handle)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(temporary, target)
    with open(os.path.join(directory, "latest.tmp"), "w", encoding="utf-8") as handle:
        handle.write(os.path.basename(target))
    os.replace(os.path.join(directory, "latest.tmp"), os.path.join(directory, "latest"))
    existing = sorted(name for name in os.listdir(directory) if name.startswith("step-") and not name.endswith(".tmp"))
    for name in existing[:-keep] if keep > 0 else []:
        shutil.rmtree(os.path.join(directory, name), ignore_errors=True)
    return target


def latest(directory):
    pointer = os.path.join(directory, "latest")
    if not os.path.isfile(pointer):
        return None
    with open(pointer, encoding="utf-8") as handle:
        name = handle.read().strip()
    path = os.path.join(directory, name)
    return path if NAME.match(name) and os.path.isfile(os.path.join(path, "state.json")) else None


def read_shared(directory, context):
    """Rank 0's newest checkpoint on every worker: (its name, {file name: bytes}), or None when it has none."""
    offered = None
    if context.is_main:
        path = latest(directory)
        offered = os.path.basename(path).encode() if path else b""
    name = context.broadcast_bytes(offered).decode()
    if not name:
        return None
    if not NAME.match(name):
        raise ValueError(f"rank 0 named the checkpoint {name!r}, not step-<8 digits>")
    local = os.path.join(directory, name)
    held = all(os.path.isfile(os.path.join(local, file)) for file in FILES)
    if context.is_main and not held:
        raise FileNotFoundError(f"checkpoint {local} lacks one of {', '.join(FILES)}")
    files = {file: _read(os.path.join(local, file)) for file in FILES} if held else {}
    if context.any(not held):
        # Every worker joins each broadcast; those holding the checkpoint keep their own bytes.
        for file in FILES:
            sent = context.broadcast_bytes(files.get(file) if context.is_main else None)
            files.setdefault(file, sent)
    return name, files


def load(files, model, optimizer):
    """Loads `read_shared`'s files into the model and optimizer; returns the step and the extra state."""
    tensors, _ = load_bytes(files["tensors.safetensors"], "tensors.safetensors")
    state = json.loads(files["state.json"].decode("utf-8"))
    parameters = dict(model.named_parameters())
    optimizer_state = {}
    with torch.no_grad():
        for name, tensor in tensors.items():
            kind, _, rest = name.partition(".")
            if kind == "model":
                parameters[rest].copy_(tensor.to(parameters[rest].dtype))
            else:
                index, _, key = rest.partition(".")
                optimizer_state.setdefault(int(index), {})[key] = tensor
    for name, value in state["optimizer_scalars"].items():
        index, _, key = name.partition(".")
        optimizer_state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": optimizer_state, "param_groups": state["param_groups"]})
    return state["step"], state.get("extra", {})


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()
