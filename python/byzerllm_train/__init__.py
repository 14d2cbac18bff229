"""byzerllm's trainer: plain PyTorch (no transformers/peft/safetensors packages), driven by byzerllm jobs.

One module per concern: safetensors_io (the file format), model (llama-family causal LM and the
Hugging Face folder layout), lora (adapters), token_data (the token file written by byzerllm),
schedule (warmup + cosine), checkpoint, distributed (torch.distributed data parallel) and trainer
(the loop). `python3 -m byzerllm_train <command>` is the entry point (see __main__.py).
"""
