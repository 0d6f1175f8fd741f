#!/usr/bin/python3
"""The reference for `llamaboard bench train`: the same training step in plain PyTorch eager mode.

Builds the same Llama-shaped decoder as the benchmark (RMSNorm, rotary embeddings, grouped-query attention, SwiGLU,
untied LM head), optionally wrapped with LoRA on every linear layer of the decoder blocks, and times optimizer steps
(forward with full logits and cross-entropy as transformers computes them, backward, AdamW) on random token batches
with the same threads. With --checkpointing, each decoder layer runs under torch.utils.checkpoint as transformers'
gradient checkpointing does. Prints one JSON object with step times, tokens/s and peak resident memory.

Usage: train_step.py --method lora|full [--layers 8 --hidden 512 --heads 8 --kv-heads 8 --intermediate 1376
                     --vocab 32000 --seq 512 --batch 4 --steps 10 --warmup 2 --threads 2 --rank 8 --dtype fp32
                     --checkpointing 1]
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint


class RMSNorm(torch.nn.Module):
    def __init__(self, size, eps=1e-6):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        variance = x.float().pow(2).mean(-1, keepdim=True)
        return self.weight * (x.float() * torch.rsqrt(variance + self.eps)).to(x.dtype)


class LoraLinear(torch.nn.Module):
    def __init__(self, base, rank, alpha):
        super().__init__()
        self.base = base
        self.lora_a = torch.nn.Linear(base.in_features, rank, bias=False)
        self.lora_b = torch.nn.Linear(rank, base.out_features, bias=False)
        torch.nn.init.zeros_(self.lora_b.weight)
        self.scaling = alpha / rank

    def forward(self, x):
        return self.base(x) + self.lora_b(self.lora_a(x)) * self.scaling


class Layer(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = a.heads, a.kv_heads, a.hidden // a.heads
        self.q_proj = torch.nn.Linear(a.hidden, a.heads * self.head_dim, bias=False)
        self.k_proj = torch.nn.Linear(a.hidden, a.kv_heads * self.head_dim, bias=False)
        self.v_proj = torch.nn.Linear(a.hidden, a.kv_heads * self.head_dim, bias=False)
        self.o_proj = torch.nn.Linear(a.heads * self.head_dim, a.hidden, bias=False)
        self.gate_proj = torch.nn.Linear(a.hidden, a.intermediate, bias=False)
        self.up_proj = torch.nn.Linear(a.hidden, a.intermediate, bias=False)
        self.down_proj = torch.nn.Linear(a.intermediate, a.hidden, bias=False)
        self.input_layernorm = RMSNorm(a.hidden)
        self.post_attention_layernorm = RMSNorm(a.hidden)

    def forward(self, x, cos, sin, causal):
        b, t, _ = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(h).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(h).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(self.heads // self.kv_heads, dim=1)
        v = v.repeat_interleave(self.heads // self.kv_heads, dim=1)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        attention = scores.masked_fill(~causal, float("-inf")).softmax(-1) @ v
        x = x + self.o_proj(attention.transpose(1, 2).reshape(b, t, -1))
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Model(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        self.embed_tokens = torch.nn.Embedding(a.vocab, a.hidden)
        self.layers = torch.nn.ModuleList(Layer(a) for _ in range(a.layers))
        self.norm = RMSNorm(a.hidden)
        self.lm_head = torch.nn.Linear(a.hidden, a.vocab, bias=False)
        self.checkpointing = bool(a.checkpointing)
        head_dim = a.hidden // a.heads
        inv_freq = 1.0 / (10000.0 ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        freqs = torch.outer(torch.arange(a.seq, dtype=torch.float32), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos", emb.cos(), persistent=False)
        self.register_buffer("sin", emb.sin(), persistent=False)
        self.register_buffer("causal", torch.ones(a.seq, a.seq, dtype=torch.bool).tril(), persistent=False)

    def forward(self, ids):
        x = self.embed_tokens(ids)
        if self.checkpointing and self.training and not x.requires_grad:
            x.requires_grad_(True)  # transformers' enable_input_require_grads, needed by reentrant checkpointing
        cos, sin = self.cos.to(x.dtype), self.sin.to(x.dtype)
        for layer in self.layers:
            if self.checkpointing and self.training:
                x = checkpoint(layer, x, cos, sin, self.causal)
            else:
                x = layer(x, cos, sin, self.causal)
        return self.lm_head(self.norm(x))


def main():
    p = argparse.ArgumentParser()
    for name, default in (("layers", 8), ("hidden", 512), ("heads", 8), ("kv_heads", 8), ("intermediate", 1376),
                          ("vocab", 32000), ("seq", 512), ("batch", 4), ("steps", 10), ("warmup", 2), ("threads", 2),
                          ("rank", 8), ("checkpointing", 1)):
        p.add_argument("--" + name.replace("_", "-"), dest=name, type=int, default=default)
    p.add_argument("--method", choices=("lora", "full"), default="lora")
    p.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dtype = torch.float32 if a.dtype == "fp32" else torch.bfloat16

    model = Model(a)
    if a.method == "lora":
        for param in model.parameters():
            param.requires_grad = False
        for layer in model.layers:
            for name in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"):
                setattr(layer, name, LoraLinear(getattr(layer, name), a.rank, 2 * a.rank))
    model = model.to(dtype)
    if a.method == "lora":
        for module in model.modules():  # adapters in fp32, as PEFT upcasts trainable parameters
            if isinstance(module, LoraLinear):
                module.lora_a.float()
                module.lora_b.float()
                module.forward = lambda x, m=module: m.base(x) + m.lora_b(m.lora_a(x.float())).to(x.dtype) * m.scaling
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-4, weight_decay=0.0)
    ids = torch.randint(0, a.vocab, (a.batch, a.seq))

    times = []
    for step in range(a.warmup + a.steps):
        start = time.perf_counter()
        logits = model(ids)
        loss = F.cross_entropy(logits[:, :-1].float().reshape(-1, a.vocab), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        elapsed = time.perf_counter() - start
        if step >= a.warmup:
            times.append(elapsed)

    tokens = a.batch * a.seq
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({
        "engine": f"PyTorch {torch.__version__} eager",
        "method": a.method, "dtype": a.dtype, "threads": torch.get_num_threads(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "trainable": sum(p.numel() for p in trainable),
        "step_seconds": sorted(times)[len(times) // 2],
        "tokens_per_second": tokens / (sorted(times)[len(times) // 2]),
        "peak_resident_bytes": peak,
        "final_loss": float(loss),
    }))


if __name__ == "__main__":
    main()
