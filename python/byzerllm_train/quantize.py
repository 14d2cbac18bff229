"""QLoRA-style 4-bit base weights in plain torch: blockwise NF4 quantisation (no bitsandbytes).

NF4 (Dettmers et al., "QLoRA", 2023) stores each weight as one of 16 levels placed at quantiles of
a standard normal, scaled per block of 64 weights by the block's largest magnitude (the scale is
kept in f32; the paper's double quantisation of the scales is left out, it saves 0.4 bit/weight).
Two 4-bit codes share one byte. `QuantizedLinear` keeps only the codes and scales and
dequantises on the fly in each forward pass, so the frozen base costs ~4.5 bits per weight in
memory; LoRA's A and B stay in full precision and are the only trainable tensors.
"""
import torch
import torch.nn.functional as functional
from torch import nn

BLOCK_SIZE = 64

# The 16 NF4 levels of the QLoRA paper (bitsandbytes' table), normalised to [-1, 1].
NF4_LEVELS = torch.tensor([
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
])


def quantize_nf4(weight, block_size=BLOCK_SIZE):
    """(codes uint8 [n/2], scales f32 [blocks]) of `weight` (any shape), padded to whole blocks."""
    flat = weight.detach().float().reshape(-1)
    padding = (-flat.numel()) % block_size
    if padding:
        flat = torch.cat([flat, flat.new_zeros(padding)])
    blocks = flat.reshape(-1, block_size)
    scales = blocks.abs().amax(dim=1)
    normalised = blocks / torch.where(scales > 0, scales, torch.ones_like(scales))[:, None]
    # The nearest level: bucketize against the midpoints between neighbouring levels.
    midpoints = (NF4_LEVELS[1:] + NF4_LEVELS[:-1]) / 2
    codes = torch.bucketize(normalised.reshape(-1), midpoints).to(torch.uint8)
    packed = (codes[0::2] << 4) | codes[1::2]
    return packed, scales


def dequantize_nf4(packed, scales, shape, dtype=torch.float32, block_size=BLOCK_SIZE):
    """The weight of `shape` that `quantize_nf4` encoded, in `dtype`."""
    codes = torch.stack([packed >> 4, packed & 0x0F], dim=1).reshape(-1).long()
    values = NF4_LEVELS.to(scales.device)[codes].reshape(-1, block_size) * scales[:, None]
    count = 1
    for size in shape:
        count *= size
    return values.reshape(-1)[:count].reshape(shape).to(dtype)


class QuantizedLinear(nn.Module):
    """A frozen nn.Linear whose weight lives as NF4 codes; `weight` dequantises on read."""

    def __init__(self, linear):
        super().__init__()
        self.in_features = linear.in_features
        self.out_features = linear.out_features
        self.weight_shape = tuple(linear.weight.shape)
        packed, scales = quantize_nf4(linear.weight)
        self.register_buffer("codes", packed)
        self.register_buffer("scales", scales)
        if linear.bias is not None:
            self.bias = nn.Parameter(linear.bias.detach().clone(), requires_grad=False)
        else:
            self.bias = None

    @property
    def weight(self):
        return dequantize_nf4(self.codes, self.scales, self.weight_shape)

    def forward(self, hidden):
        weight = dequantize_nf4(self.codes, self.scales, self.weight_shape, hidden.dtype)
        bias = self.bias.to(hidden.dtype) if self.bias is not None else None
        return functional.linear(hidden, weight, bias)

    def dequantized(self):
        """A plain nn.Linear holding the dequantised weight (what training saw)."""
        linear = nn.Linear(self.in_features, self.out_features, bias=self.bias is not None)
        with torch.no_grad():
            linear.weight.copy_(self.weight)
            if self.bias is not None:
                linear.bias.copy_(self.bias)
        return linear


def quantize_lora_bases(model):
    """Replaces the frozen base of every LoRA-wrapped projection by its NF4 form; returns how many."""
    from .lora import LoRALinear

    count = 0
    for module in model.modules():
        if isinstance(module, LoRALinear) and isinstance(module.base, nn.Linear):
            module.base = QuantizedLinear(module.base)
            count += 1
    return count
