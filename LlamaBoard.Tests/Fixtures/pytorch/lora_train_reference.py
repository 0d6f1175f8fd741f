#!/usr/bin/python3
"""Independent reference for LlamaBoard's training numerics, in plain PyTorch (Debian's python3-torch).

Builds a Llama-family decoder from an HF folder (config.json + model.safetensors), wraps every linear layer of the
decoder blocks with LoRA (initial A and B read from a PEFT adapter folder), and runs optimizer steps on the batches
given in a JSON file with PyTorch's own AdamW, gradient clipping and cross-entropy. The loss of each step is
normalised by the number of target tokens of the whole accumulation window, as LlamaBoard does. Prints one JSON
object: {"losses": [...], "grad_norms": [...]}.

Usage: lora_train_reference.py MODEL_DIR ADAPTER_DIR BATCHES_JSON SETTINGS_JSON
"""
import json
import math
import sys

import torch
import torch.nn.functional as F

from safetensors_reader import read_safetensors




class LoraLinear(torch.nn.Module):
    def __init__(self, weight, a, b, scaling):
        super().__init__()
        self.weight = torch.nn.Parameter(weight, requires_grad=False)
        self.a = torch.nn.Parameter(a)
        self.b = torch.nn.Parameter(b)
        self.scaling = scaling

    def forward(self, x):
        return F.linear(x, self.weight) + F.linear(F.linear(x, self.a), self.b) * self.scaling


def rms_norm(x, weight, eps):
    variance = x.pow(2).mean(-1, keepdim=True)
    return weight * (x * torch.rsqrt(variance + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def main():
    model_dir, adapter_dir, batches_path, settings_path = sys.argv[1:5]
    config = json.load(open(f"{model_dir}/config.json"))
    settings = json.load(open(settings_path))
    torch.set_num_threads(settings.get("threads", 2))
    weights = read_safetensors(f"{model_dir}/model.safetensors")
    adapter = read_safetensors(f"{adapter_dir}/adapter_model.safetensors")
    adapter_config = json.load(open(f"{adapter_dir}/adapter_config.json"))
    scaling = adapter_config["lora_alpha"] / adapter_config["r"]

    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    kv_heads = config["num_key_value_heads"]
    head_dim = config.get("head_dim") or hidden // heads
    eps = config["rms_norm_eps"]
    theta = config.get("rope_theta", 10000.0)
    layers = config["num_hidden_layers"]

    projections = {}
    for layer in range(layers):
        for block, names in (("self_attn", ("q_proj", "k_proj", "v_proj", "o_proj")), ("mlp", ("gate_proj", "up_proj", "down_proj"))):
            for name in names:
                key = f"model.layers.{layer}.{block}.{name}"
                prefix = f"base_model.model.{key}"
                projections[key] = LoraLinear(weights[f"{key}.weight"], adapter[f"{prefix}.lora_A.weight"],
                                              adapter[f"{prefix}.lora_B.weight"], scaling)
    embed = weights["model.embed_tokens.weight"]
    head = weights.get("lm_head.weight", embed)

    def forward(ids):
        b, t = ids.shape
        x = embed[ids]
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        freqs = torch.outer(torch.arange(t, dtype=torch.float32), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        causal = torch.ones(t, t, dtype=torch.bool).tril()
        for layer in range(layers):
            p = lambda name, block="self_attn": projections[f"model.layers.{layer}.{block}.{name}"]
            h = rms_norm(x, weights[f"model.layers.{layer}.input_layernorm.weight"], eps)
            q = p("q_proj")(h).view(b, t, heads, head_dim).transpose(1, 2)
            k = p("k_proj")(h).view(b, t, kv_heads, head_dim).transpose(1, 2)
            v = p("v_proj")(h).view(b, t, kv_heads, head_dim).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            k = k.repeat_interleave(heads // kv_heads, dim=1)
            v = v.repeat_interleave(heads // kv_heads, dim=1)
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(head_dim)
            scores = scores.masked_fill(~causal, float("-inf"))
            attention = scores.softmax(-1) @ v
            x = x + p("o_proj")(attention.transpose(1, 2).reshape(b, t, heads * head_dim))
            h = rms_norm(x, weights[f"model.layers.{layer}.post_attention_layernorm.weight"], eps)
            x = x + p("down_proj", "mlp")(F.silu(p("gate_proj", "mlp")(h)) * p("up_proj", "mlp")(h))
        return rms_norm(x, weights["model.norm.weight"], eps) @ head.t()

    parameters = [param for module in projections.values() for param in (module.a, module.b)]
    optimizer = torch.optim.AdamW(parameters, lr=settings["learning_rate"], betas=(0.9, 0.999), eps=1e-8,
                                  weight_decay=settings["weight_decay"])
    total, warmup = settings["total_steps"], settings["warmup_steps"]

    def multiplier(step):  # transformers' cosine schedule with warmup
        if step < warmup:
            return step / max(1, warmup)
        progress = (step - warmup) / max(1, total - warmup)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, multiplier)
    losses, norms = [], []
    for window in json.load(open(batches_path)):
        labels = [torch.tensor(batch["labels"]) for batch in window]
        weight = sum(int((l[:, 1:] != -100).sum()) for l in labels)
        step_loss = 0.0
        for batch, label in zip(window, labels):
            logits = forward(torch.tensor(batch["input_ids"]))
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), label[:, 1:].reshape(-1),
                                   ignore_index=-100, reduction="sum") / weight
            loss.backward()
            step_loss += loss.item()
        norms.append(float(torch.nn.utils.clip_grad_norm_(parameters, settings["max_grad_norm"])))
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        losses.append(step_loss)
    print(json.dumps({"losses": losses, "grad_norms": norms}))


if __name__ == "__main__":
    main()
