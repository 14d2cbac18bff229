"""Data parallelism with torch.distributed: gloo on CPU, nccl on GPU.

byzerllm's job supervisor starts one process per worker with RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR and MASTER_PORT set (the variables `torch.distributed.run` sets too), so a job runs
the same under the supervisor or under torchrun across nodes.
"""
import datetime
import os

import torch
import torch.distributed as dist


class Context:
    def __init__(self):
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.device = torch.device(f"cuda:{self.local_rank}") if torch.cuda.is_available() and os.environ.get("BYZERLLM_DEVICE", "auto") != "cpu" else torch.device("cpu")
        self.enabled = self.world_size > 1

    @property
    def is_main(self):
        return self.rank == 0

    def start(self):
        if not self.enabled:
            return
        backend = "nccl" if self.device.type == "cuda" else "gloo"
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=int(os.environ.get("BYZERLLM_DIST_TIMEOUT", "600"))))

    def wrap(self, model):
        if not self.enabled:
            return model
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids)

    def sum(self, values):
        """All-reduces a list of floats (sum) across workers."""
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device if self.device.type == "cuda" else "cpu")
        if self.enabled:
            dist.all_reduce(tensor)
        return tensor.tolist()

    def barrier(self):
        if self.enabled:
            dist.barrier()

    def stop(self):
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()
