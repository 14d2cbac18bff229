"""`python3 -m byzerllm_train <command>`: check | train SPEC | merge | logits | export-onnx | greedy.

Every command prints one JSON document (or JSON lines for `train`) on stdout; failures print one
line `byzerllm_train: error: ...` on stderr and exit 2 (bad input) or 1.
"""
import argparse
import json
import platform
import sys


def command_check(_arguments):
    import torch
    import torch.distributed as dist

    print(json.dumps({
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda_devices": torch.cuda.device_count() if torch.cuda.is_available() else 0,
        "gloo": dist.is_available() and dist.is_gloo_available(),
        "nccl": dist.is_available() and torch.cuda.is_available() and dist.is_nccl_available(),
    }))


def command_train(arguments):
    from .distributed import die_with_parent
    from .trainer import train

    die_with_parent()
    with open(arguments.spec, encoding="utf-8") as handle:
        train(json.load(handle))


def command_merge(arguments):
    from .lora import load_adapter, merge_lora
    from .model import load_model, save_model

    model = load_model(arguments.base)
    load_adapter(model, arguments.adapter)
    merge_lora(model)
    save_model(model, arguments.output, arguments.base)
    print(json.dumps({"output": arguments.output}))


def command_logits(arguments):
    import torch

    from .lora import load_adapter
    from .model import load_model

    torch.set_num_threads(1)
    model = load_model(arguments.model)
    if arguments.adapter:
        load_adapter(model, arguments.adapter)
    model.eval()
    tokens = [int(token) for token in arguments.tokens.split(",") if token]
    with torch.no_grad():
        logits = model(torch.tensor([tokens]))[0, -1]
    print(json.dumps({"logits": logits.tolist()}))


def command_export_onnx(arguments):
    from .onnx_export import export_onnx

    print(json.dumps(export_onnx(arguments.model, arguments.output)))


def command_greedy(arguments):
    from .onnx_export import greedy

    tokens = [int(token) for token in arguments.tokens.split(",") if token]
    print(json.dumps({"tokens": greedy(arguments.model, tokens, arguments.count)}))


def main(argv):
    parser = argparse.ArgumentParser(prog="byzerllm_train")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check")
    train = commands.add_parser("train")
    train.add_argument("spec")
    merge = commands.add_parser("merge")
    merge.add_argument("--base", required=True)
    merge.add_argument("--adapter", required=True)
    merge.add_argument("--output", required=True)
    logits = commands.add_parser("logits")
    logits.add_argument("--model", required=True)
    logits.add_argument("--adapter")
    logits.add_argument("--tokens", required=True)
    export = commands.add_parser("export-onnx")
    export.add_argument("--model", required=True)
    export.add_argument("--output", required=True)
    greedy = commands.add_parser("greedy")
    greedy.add_argument("--model", required=True)
    greedy.add_argument("--tokens", required=True)
    greedy.add_argument("--count", type=int, required=True)
    arguments = parser.parse_args(argv)
    handlers = {
        "check": command_check,
        "train": command_train,
        "merge": command_merge,
        "logits": command_logits,
        "export-onnx": command_export_onnx,
        "greedy": command_greedy,
    }
    try:
        handlers[arguments.command](arguments)
    except (ValueError, FileNotFoundError) as error:
        sys.stderr.write(f"byzerllm_train: error: {error}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
