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

BROADCAST_CHUNK_BYTES = 64 * 1024 * 1024


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
        tensor = torch.tensor(values, dtype=torch.float64, device=self._collective_device())
        if self.enabled:
            dist.all_reduce(tensor)
        return tensor.tolist()

    def any(self, flag):
        """Whether `flag` is true on any worker."""
        tensor = torch.tensor([1 if flag else 0], dtype=torch.int64, device=self._collective_device())
        if self.enabled:
            dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return bool(tensor.item())

    def broadcast_bytes(self, data):
        """Rank 0's `data` (bytes) on every worker; the others pass None.

        Sent in chunks of `BROADCAST_CHUNK_BYTES` so a large checkpoint never needs one message
        (or, on GPUs, one device buffer) of its whole size.
        """
        if not self.enabled:
            return data
        device = self._collective_device()
        length = torch.tensor([len(data) if self.is_main else 0], dtype=torch.int64, device=device)
        dist.broadcast(length, src=0)
        total = int(length.item())
        if total == 0:
            return b""
        buffer = bytearray(data) if self.is_main else bytearray(total)
        view = torch.frombuffer(buffer, dtype=torch.uint8)
        for begin in range(0, total, BROADCAST_CHUNK_BYTES):
            chunk = view[begin : begin + BROADCAST_CHUNK_BYTES]
            if device.type == "cpu":
                dist.broadcast(chunk, src=0)
                continue
            on_device = chunk.to(device)
            dist.broadcast(on_device, src=0)
            chunk.copy_(on_device.cpu())
        return bytes(buffer)

    def _collective_device(self):
        # nccl moves only GPU tensors; gloo only CPU ones.
        return self.device if self.device.type == "cuda" else torch.device("cpu")

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
