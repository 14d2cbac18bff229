"""LoRA adapters in plain torch, saved in the PEFT folder layout.

`apply_lora` replaces the chosen nn.Linear modules with `LoRALinear`: the frozen base weight plus
`scaling * B(A(dropout(x)))`, A ~ Kaiming-uniform, B = 0 (so training starts from the base model),
scaling = alpha / rank. Only A and B train. The adapter folder holds `adapter_config.json` and
`adapter_model.safetensors` with PEFT's names, so other tools read it too; `merge_lora` folds
B·A·scaling into the base weights for a standalone model.
"""
import json
import math
import os

import torch
from torch import nn

from .safetensors_io import load_file, save_file

DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
PEFT_PREFIX = "base_model.model."


class LoRALinear(nn.Module):
    def __init__(self, base, rank, alpha, dropout):
        super().__init__()
        self.base = base
        self.rank = rank
        self.alpha = alpha
        self.scaling = alpha / rank
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.lora_A = nn.Linear(base.in_features, rank, bias=False)
        self.lora_B = nn.Linear(rank, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)
        for parameter in self.base.parameters():
            parameter.requires_grad_(False)

    def forward(self, hidden):
        return self.base(hidden) + self.lora_B(self.lora_A(self.dropout(hidden))) * self.scaling

    def merged_weight(self):
        delta = self.lora_B.weight.float() @ self.lora_A.weight.float()
        return (self.base.weight.float() + delta * self.scaling).to(self.base.weight.dtype)


def apply_lora(model, rank=8, alpha=None, dropout=0.05, targets=DEFAULT_TARGETS):
    """Freezes the model and wraps every target projection; returns the wrapped module names."""
    alpha = float(alpha if alpha is not None else rank)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    wrapped = []
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if child_name in targets and isinstance(child, nn.Linear):
                setattr(module, child_name, LoRALinear(child, rank, alpha, dropout))
                wrapped.append(f"{name}.{child_name}" if name else child_name)
    if not wrapped:
        raise ValueError(f"no module named {', '.join(targets)} to adapt")
    model.lora_settings = {"r": rank, "lora_alpha": alpha, "lora_dropout": dropout, "target_modules": list(targets)}
    return wrapped


def lora_state(model):
    """The adapter tensors under PEFT names (`base_model.model.<module>.lora_A.weight`)."""
    state = {}
    for name, module in model.named_modules():
        if isinstance(module, LoRALinear):
            state[f"{PEFT_PREFIX}{name}.lora_A.weight"] = module.lora_A.weight.detach().float().cpu()
            state[f"{PEFT_PREFIX}{name}.lora_B.weight"] = module.lora_B.weight.detach().float().cpu()
    return state


def save_adapter(model, directory, base_model_path):
    os.makedirs(directory, exist_ok=True)
    save_file(lora_state(model), os.path.join(directory, "adapter_model.safetensors"), {"format": "pt"})
    settings = dict(model.lora_settings)
    settings.update({"peft_type": "LORA", "task_type": "CAUSAL_LM", "bias": "none",
                     "base_model_name_or_path": base_model_path})
    with open(os.path.join(directory, "adapter_config.json"), "w", encoding="utf-8") as handle:
        json.dump(settings, handle, indent=2)


def load_adapter(model, directory):
    """Wraps `model` as the adapter's config says and loads its tensors (for merge, eval, parity)."""
    with open(os.path.join(directory, "adapter_config.json"), encoding="utf-8") as handle:
        settings = json.load(handle)
    apply_lora(model, rank=int(settings["r"]), alpha=float(settings["lora_alpha"]), dropout=0.0,
               targets=tuple(settings["target_modules"]))
    tensors, _ = load_file(os.path.join(directory, "adapter_model.safetensors"))
    expected = lora_state(model)
    missing = sorted(set(expected) - set(tensors))
    if missing:
        raise ValueError(f"{directory}: adapter tensors missing: {', '.join(missing[:3])}")
    modules = dict(model.named_modules())
    with torch.no_grad():
        for name, tensor in tensors.items():
            module_name, _, part = name[len(PEFT_PREFIX):].rpartition(".lora_")
            target = getattr(modules[module_name], f"lora_{part.split('.')[0]}")
            target.weight.copy_(tensor.to(target.weight.dtype))
    return settings


def merge_lora(model):
    """Replaces every LoRALinear by a plain nn.Linear with the merged weight (in place)."""
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, LoRALinear):
                # A 4-bit base (QLoRA) merges into its dequantised weight: what training saw.
                merged = child.base if isinstance(child.base, nn.Linear) else child.base.dequantized()
                with torch.no_grad():
                    merged.weight.copy_(child.merged_weight())
                merged.weight.requires_grad_(True)
                setattr(module, child_name, merged)
    if hasattr(model, "lora_settings"):
        del model.lora_settings
    return model
