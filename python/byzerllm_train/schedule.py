"""Learning-rate schedule: linear warmup, then cosine decay to `min_ratio` of the peak."""
import math


def warmup_cosine(step, warmup_steps, total_steps, min_ratio=0.0):
    """The multiplier of the peak learning rate for optimizer step `step` (0-based)."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
