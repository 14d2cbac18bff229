"""Data parallelism with torch.distributed: gloo on CPU, nccl on GPU.

byzerllm's job supervisor starts one process per worker with RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR and MASTER_PORT set (the variables `torch.distributed.run` sets too), so a job runs
the same under the supervisor or under torchrun across nodes.
"""
import datetime
import os
import signal

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


def die_with_parent():
    """Asks Linux to SIGKILL this worker when its supervisor dies, however it dies.

    A supervisor killed with -9 cannot stop its workers, and a worker left alone in a collective
    would wait for its peers until the timeout. The supervisor passes its pid in
    BYZERLLM_PARENT_PID so a parent that died before the request is noticed too. No-op off Linux.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
            return
    except (OSError, AttributeError):
        return
    parent = os.environ.get("BYZERLLM_PARENT_PID")
    if parent and os.getppid() != int(parent):
        os._exit(1)
