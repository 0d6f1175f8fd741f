#!/usr/bin/python3
"""Reference for LlamaBoard's 4-bit quantization, written from bitsandbytes' definitions in plain PyTorch.

bitsandbytes itself is not packaged for Debian, so this script restates its pure-PyTorch ("default" backend)
algorithm: the NF4 table from the QLoRA paper, the FP4 table of get_4bit_type("fp4") (indexed by bit pattern), the
8-bit dynamic map of create_dynamic_map(signed=True), block-wise absmax
quantization by bucketize on code-book midpoints, two codes per byte with the first in the high nibble, and
double quantization (compress_statistics) of the block scales: mean offset, blocks of 256, dynamic code.

Usage: bnb_quant_reference.py WEIGHT_F32_FILE ROWS COLUMNS nf4|fp4
Prints JSON: packed bytes, absmax, nested codes, nested absmax, offset, the dynamic map and the FP4 table.
"""
import json
import sys

import torch


def create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8):
    data = []
    non_sign_bits = total_bits - 1
    for i in range(max_exponent_bits):
        fraction_items = int(2 ** (i + non_sign_bits - max_exponent_bits) + 1)
        boundaries = torch.linspace(0.1, 1, fraction_items, dtype=torch.float32)
        means = (boundaries[:-1] + boundaries[1:]) / 2.0
        data += ((10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
        data += (-(10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
    data.append(0)
    data.append(1.0)
    data.sort()
    return torch.tensor(data, dtype=torch.float32)


def fp4_table():
    # bitsandbytes' get_4bit_type("fp4"): the 4-bit code is the index (sign bit, then e2m1 as its kernels decode
    # it: 0b000 = 0, 0b001 = 0.0625, 0b010 = 8, 0b011 = 12, 0b100 = 4, 0b101 = 6, 0b110 = 2, 0b111 = 3),
    # normalised by the largest magnitude.
    table = torch.tensor([0, 0.0625, 8.0, 12.0, 4.0, 6.0, 2.0, 3.0, -0.0, -0.0625, -8.0, -12.0, -4.0, -6.0, -2.0, -3.0])
    return table / table.abs().max()


NF4 = torch.tensor([-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
                    -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
                    0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
                    0.7229568362236023, 1.0], dtype=torch.float32)


def quantize_blocks(flat, code_sorted, blocksize):
    n = flat.numel()
    pad = (-n) % blocksize
    if pad:
        flat = torch.cat([flat, flat.new_zeros(pad)])
    grid = flat.view(-1, blocksize)
    absmax = grid.abs().max(dim=-1)[0]
    scaled = torch.clamp(grid * (1.0 / absmax.clamp(min=1e-38).view(-1, 1)), -1, 1).reshape(-1)
    bounds = (code_sorted[:-1] + code_sorted[1:]) / 2
    return torch.bucketize(scaled, bounds), absmax


def main():
    path, rows, columns, kind = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    weight = torch.frombuffer(bytearray(open(path, "rb").read()), dtype=torch.float32).reshape(rows, columns)
    code = NF4 if kind == "nf4" else fp4_table()
    order = torch.argsort(code)
    ranks, absmax = quantize_blocks(weight.reshape(-1), code[order], 64)
    codes = ranks if kind == "nf4" else order[ranks]
    codes = codes.to(torch.uint8)
    packed = (codes[::2] << 4) | codes[1::2]

    dynamic = create_dynamic_map()
    offset = absmax.mean()
    nested, nested_absmax = quantize_blocks(absmax - offset, dynamic, 256)

    # Decoding, as dequantize_4bit does with a nested state.
    scales = (dynamic[nested].view(-1, 256) * nested_absmax.view(-1, 1)).reshape(-1)[: absmax.numel()] + offset
    unpacked = torch.stack([packed >> 4, packed & 15], 1).reshape(-1).long()
    dequantized = (code[unpacked].view(-1, 64) * scales.view(-1, 1)).reshape(-1)[: rows * columns]

    print(json.dumps({
        "packed": packed.tolist(),
        "absmax": absmax.tolist(),
        "nested_codes": nested.tolist(),
        "nested_absmax": nested_absmax.tolist(),
        "offset": float(offset),
        "dynamic": dynamic.tolist(),
        "fp4": fp4_table().tolist(),
        "dequantized_sample": dequantized[:4096].tolist(),
    }))


if __name__ == "__main__":
    main()
