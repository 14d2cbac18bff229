"""Checkpoints: the trainable weights, optimizer and step, written by worker 0 every N steps.

`<dir>/step-<N>/state.pt` (torch.save of tensors and numbers only, read back with
`weights_only=True` so a checkpoint cannot run code) and `<dir>/latest` naming the newest.
Older ones beyond `keep` are removed.
"""
import os
import shutil

import torch


def save(directory, step, model, optimizer, extra, keep=2):
    target = os.path.join(directory, f"step-{step:08d}")
    temporary = f"{target}.tmp"
    shutil.rmtree(temporary, ignore_errors=True)
    os.makedirs(temporary)
    trainable = {name: parameter.detach().cpu() for name, parameter in model.named_parameters() if parameter.requires_grad}
    torch.save({"step": step, "model": trainable, "optimizer": optimizer.state_dict(), "extra": extra},
               os.path.join(temporary, "state.pt"))
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
    path = os.path.join(directory, name, "state.pt")
    return path if os.path.isfile(path) else None


def load(path, model, optimizer):
    state = torch.load(path, map_location="cpu", weights_only=True)
    parameters = dict(model.named_parameters())
    with torch.no_grad():
        for name, tensor in state["model"].items():
            parameters[name].copy_(tensor.to(parameters[name].dtype))
    optimizer.load_state_dict(state["optimizer"])
    return state["step"], state.get("extra", {})
