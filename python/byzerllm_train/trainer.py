"""The training loop: data-parallel, AdamW, warmup + cosine, accumulation, clipping, autocast.

Reads a trainer spec (JSON, written by byzerllm's job layer), trains, checkpoints every
`save_steps`, and writes the result: the LoRA adapter (`output/adapter`) and the merged model
(`output/merged`), or the full model (`output/merged`). Worker 0 prints progress as JSON lines on
stdout (`step`, `eval`, `checkpoint`, `done` events); everything else goes to stderr.
"""
import json
import math
import os
import sys
import time

import torch

from . import checkpoint
from .distributed import Context
from .lora import apply_lora, merge_lora, save_adapter
from .model import load_model, save_model
from .quantize import QuantizedLinear, quantize_lora_bases
from .schedule import warmup_cosine
from .token_data import TokenFile, collate, epoch_batches


def emit(context, event):
    if context.is_main:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()


def autocast_dtype(spec, device):
    precision = spec.get("precision", "auto")
    if device.type != "cuda" or precision == "fp32":
        return None
    if precision == "fp16":
        return torch.float16
    if precision == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def masked_loss(model, inputs, targets, mask, dtype, device):
    """Sum of the cross-entropy over target positions, and how many there were."""
    inputs, targets, mask = inputs.to(device), targets.to(device), mask.to(device)
    with torch.autocast(device_type=device.type, dtype=dtype, enabled=dtype is not None):
        logits = model(inputs)
    losses = torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
    weights = mask.reshape(-1).float()
    return (losses * weights).sum(), weights.sum()


def evaluate(context, model, token_file, spec, dtype):
    if token_file is None or token_file.count == 0:
        return None
    model.eval()
    total, count = 0.0, 0.0
    with torch.no_grad():
        for indices in epoch_batches(token_file.count, 0, 0, context.rank, context.world_size, spec["batch_size"], shuffle=False):
            inputs, targets, mask = collate(token_file, indices, spec["max_seq_length"], spec.get("pad_id", 0))
            loss_sum, tokens = masked_loss(model, inputs, targets, mask, dtype, context.device)
            total += loss_sum.item()
            count += tokens.item()
    model.train()
    total, count = context.sum([total, count])
    return total / count if count else None


def build_model(spec, context):
    model = load_model(spec["model_path"], initialise=spec.get("initialise", False))
    if spec["method"] == "lora":
        lora = spec.get("lora", {})
        apply_lora(model, rank=lora.get("rank", 8), alpha=lora.get("alpha"), dropout=lora.get("dropout", 0.05),
                   targets=tuple(lora.get("targets") or ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")))
        if spec.get("quantization") == "nf4":
            quantize_lora_bases(model)
    elif spec.get("quantization", "none") != "none":
        raise ValueError(f"quantization {spec['quantization']} needs the lora method (4-bit weights do not train)")
    return model.to(context.device)


def train(spec):
    torch.set_num_threads(int(spec.get("threads", 1)))
    torch.manual_seed(int(spec.get("seed", 42)))
    context = Context()
    context.start()
    try:
        run(spec, context)
    finally:
        context.stop()


def run(spec, context):
    """Trains to `total_steps` (resuming from the latest checkpoint if asked), then writes the result."""
    model = build_model(spec, context)
    quantized = [module for module in model.modules() if isinstance(module, QuantizedLinear)]
    if quantized:
        stored = sum(buffer.numel() * buffer.element_size() for module in quantized for buffer in module.buffers())
        weights = sum(module.in_features * module.out_features for module in quantized)
        emit(context, {"event": "quantized", "method": "nf4", "modules": len(quantized),
                       "bits_per_weight": stored * 8 / weights})
    wrapped = context.wrap(model)
    train_file = TokenFile(spec["train_file"])
    eval_file = TokenFile(spec["eval_file"]) if spec.get("eval_file") else None
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=spec["lr"], betas=tuple(spec.get("betas", (0.9, 0.999))),
                                  eps=spec.get("eps", 1e-8), weight_decay=spec.get("weight_decay", 0.0))
    plan = plan_steps(spec, train_file, context)
    dtype = autocast_dtype(spec, context.device)
    loop = _Loop(spec, context, model, wrapped, optimizer, trainable, dtype, train_file, eval_file, plan)
    step = resume(spec, context, model, optimizer)
    first_eval = evaluate(context, wrapped, eval_file, spec, dtype) if step == 0 else None
    if first_eval is not None:
        emit(context, {"event": "eval", "step": 0, "eval_loss": first_eval})
    wrapped.train()
    loop.run(step)
    final_eval = evaluate(context, wrapped, eval_file, spec, dtype)
    if final_eval is not None:
        emit(context, {"event": "eval", "step": loop.step, "eval_loss": final_eval})
    if context.is_main:
        write_outputs(spec, model)
    context.barrier()
    emit(context, {"event": "done", "step": loop.step, "loss": loop.last_loss, "eval_loss": final_eval,
                   "tokens_per_second": loop.tokens_seen * context.world_size / max(1e-6, time.time() - loop.started)})


def plan_steps(spec, train_file, context):
    """Optimizer steps per epoch, in total, and of warmup."""
    micro_per_epoch = len(epoch_batches(train_file.count, 0, 0, context.rank, context.world_size, spec["batch_size"]))
    steps_per_epoch = max(1, math.ceil(micro_per_epoch / spec.get("accumulation", 1)))
    total_steps = spec.get("max_steps") or steps_per_epoch * spec.get("epochs", 1)
    warmup = spec.get("warmup_steps")
    if warmup is None:
        warmup = int(total_steps * spec.get("warmup_ratio", 0.03))
    return {"steps_per_epoch": steps_per_epoch, "total_steps": total_steps, "warmup": warmup}


def resume(spec, context, model, optimizer):
    """The step to start from: 0, or the latest checkpoint's when `resume` is set and one exists."""
    if not spec.get("resume"):
        return 0
    shared = checkpoint.read_shared(spec["checkpoint_dir"], context)
    if not shared:
        return 0
    name, files = shared
    step, _ = checkpoint.load(files, model, optimizer)
    # Every rank says it (in its worker log): on a spread job the other nodes got it from rank 0.
    print(f"rank {context.rank} resumed from {name} (step {step})", file=sys.stderr, flush=True)
    emit(context, {"event": "resumed", "step": step, "checkpoint": os.path.join(spec["checkpoint_dir"], name)})
    return step


class _Loop:
    """The optimizer steps: each accumulates a group of micro-batches, then logs, evaluates, checkpoints."""

    def __init__(self, spec, context, model, wrapped, optimizer, trainable, dtype, train_file, eval_file, plan):
        self.spec, self.context, self.model, self.wrapped = spec, context, model, wrapped
        self.optimizer, self.trainable, self.dtype = optimizer, trainable, dtype
        self.train_file, self.eval_file = train_file, eval_file
        self.steps_per_epoch, self.total_steps, self.warmup = plan["steps_per_epoch"], plan["total_steps"], plan["warmup"]
        self.scaler = torch.cuda.amp.GradScaler(enabled=dtype == torch.float16)
        self.step, self.start_step, self.tokens_seen, self.last_loss = 0, 0, 0, None
        self.started = time.time()

    def run(self, step):
        spec, context, accumulation = self.spec, self.context, self.spec.get("accumulation", 1)
        self.step = self.start_step = step
        while self.step < self.total_steps:
            epoch = self.step // self.steps_per_epoch
            batches = epoch_batches(self.train_file.count, epoch, spec.get("seed", 42), context.rank, context.world_size, spec["batch_size"])
            skip = (self.step % self.steps_per_epoch) * accumulation
            for index in range(skip, len(batches), accumulation):
                if self.step >= self.total_steps:
                    break
                self.optimizer_step(batches[index : index + accumulation])
                self.after_step()

    def optimizer_step(self, group):
        spec, context = self.spec, self.context
        for parameter_group in self.optimizer.param_groups:
            parameter_group["lr"] = spec["lr"] * warmup_cosine(self.step, self.warmup, self.total_steps, spec.get("min_lr_ratio", 0.0))
        loss_total, token_total = 0.0, 0.0
        collated = [collate(self.train_file, indices, spec["max_seq_length"], spec.get("pad_id", 0)) for indices in group]
        group_tokens = sum(float(mask.sum()) for _, _, mask in collated) or 1.0
        for index, (inputs, targets, mask) in enumerate(collated):
            sync = index == len(collated) - 1 or not context.enabled
            with (self.wrapped.no_sync() if not sync else _null()):
                loss_sum, count = masked_loss(self.wrapped, inputs, targets, mask, self.dtype, context.device)
                self.scaler.scale(loss_sum / group_tokens).backward()
            loss_total += loss_sum.item()
            token_total += count.item()
            self.tokens_seen += int(inputs.numel())
        self.scaler.unscale_(self.optimizer)
        if spec.get("max_grad_norm"):
            torch.nn.utils.clip_grad_norm_(self.trainable, spec["max_grad_norm"])
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        loss_total, token_total, seen = context.sum([loss_total, token_total, float(self.tokens_seen)])
        self.last_loss = loss_total / token_total if token_total else None
        self.seen = seen

    def after_step(self):
        spec, context, step, total_steps = self.spec, self.context, self.step, self.total_steps
        elapsed = max(1e-6, time.time() - self.started)
        if step % spec.get("logging_steps", 1) == 0 or step == total_steps:
            emit(context, {"event": "step", "step": step, "total_steps": total_steps, "epoch": step / self.steps_per_epoch,
                           "loss": self.last_loss, "lr": self.optimizer.param_groups[0]["lr"], "tokens_per_second": self.seen / elapsed,
                           "eta_seconds": (total_steps - step) * elapsed / (step - self.start_step)})
        if spec.get("eval_steps") and step % spec["eval_steps"] == 0 and step < total_steps:
            emit(context, {"event": "eval", "step": step, "eval_loss": evaluate(context, self.wrapped, self.eval_file, spec, self.dtype)})
        if spec.get("save_steps") and step % spec["save_steps"] == 0 and step < total_steps:
            if context.is_main:
                path = checkpoint.save(spec["checkpoint_dir"], step, self.model, self.optimizer, {"loss": self.last_loss}, spec.get("save_total_limit", 2))
                emit(context, {"event": "checkpoint", "step": step, "path": path})
            context.barrier()


def write_outputs(spec, model):
    output = spec["output_dir"]
    model = model.to("cpu").float()
    if spec["method"] == "lora":
        save_adapter(model, os.path.join(output, "adapter"), spec["model_path"])
        merge_lora(model)
    save_model(model, os.path.join(output, "merged"), spec["model_path"])


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *arguments):
        return False
