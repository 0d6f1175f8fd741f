#!/usr/bin/python3
"""Independent reference for LlamaBoard's preference and PPO losses, in plain PyTorch (Debian's python3-torch).

The formulas are written from the papers and from TRL's documented definitions (DPOTrainer.dpo_loss with
loss_type sigmoid + label_smoothing, hinge, ipo, kto_pair; KTOTrainer.kto_loss; the reward trainer's pairwise
loss) and LLaMA-Factory's ORPO and SimPO, not from LlamaBoard's code.

Three modes, each printing one JSON object:

  preference_reference.py losses CASES_JSON
      CASES_JSON is a list of cases on fixed log-probabilities. Each answer holds the per-example losses, their
      mean, the gradient of the mean with respect to every policy input, and the implicit rewards.

  preference_reference.py ppo CASES_JSON
      PPO on fixed rollouts (TRL 0.9's PPOTrainer): KL-penalised per-token rewards, GAE with optional reward
      whitening, whitened advantages, returns, the clipped policy and value losses and their gradients with respect
      to the new log-probs and values.

  preference_reference.py model MODEL_DIR ADAPTER_DIR BATCH_JSON
      A Llama decoder from MODEL_DIR (config.json + model.safetensors) with the LoRA adapter of ADAPTER_DIR is the
      policy; the same decoder without the adapter is the reference. For the pairwise batch (chosen rows, then
      rejected rows) and the KTO batch of BATCH_JSON it computes the real sequence log-probabilities, every loss,
      and the norm of the gradient of each loss with respect to the LoRA weights. The reward-model loss uses the
      value head in ADAPTER_DIR/value_head.safetensors.
"""
import json
import math
import sys

import torch
import torch.nn.functional as F

from safetensors_reader import read_safetensors

torch.set_default_dtype(torch.float64)


# ----------------------------------------------------------------------------------------------------------------
# Losses on log-probabilities.

def dpo(loss_type, pc, pr, rc, rr, beta, label_smoothing):
    """TRL DPOTrainer.dpo_loss: logits = (pc - pr) - (rc - rr)."""
    logits = (pc - pr) - (rc - rr)
    if loss_type == "sigmoid":
        losses = -F.logsigmoid(beta * logits) * (1 - label_smoothing) - F.logsigmoid(-beta * logits) * label_smoothing
    elif loss_type == "hinge":
        losses = torch.relu(1 - beta * logits)
    elif loss_type == "ipo":
        losses = (logits - 1 / (2 * beta)) ** 2
    elif loss_type == "kto_pair":
        chosen_kl = (pc - rc).mean().clamp(min=0)
        rejected_kl = (pr - rr).mean().clamp(min=0)
        losses = torch.cat((1 - torch.sigmoid(beta * ((pc - rc) - rejected_kl)),
                            1 - torch.sigmoid(beta * (chosen_kl - (pr - rr)))), 0)
    else:
        raise ValueError(loss_type)
    return losses, beta * (pc - rc).detach(), beta * (pr - rr).detach()


def orpo(pc, pr, beta):
    """ORPO on per-token averaged log-probs: -log p_w + beta * -log sigmoid(log odds_w - log odds_l)."""
    log_odds = (pc - pr) - (torch.log1p(-torch.exp(pc)) - torch.log1p(-torch.exp(pr)))
    return -pc - beta * F.logsigmoid(log_odds), beta * pc.detach(), beta * pr.detach()


def simpo(pc, pr, beta, gamma):
    """SimPO on per-token averaged log-probs: -log sigmoid(beta * (p_w - p_l) - gamma)."""
    return -F.logsigmoid(beta * (pc - pr) - gamma), beta * pc.detach(), beta * pr.detach()


def kto(pc, pr, pkl, rc, rr, rkl, beta, desirable_weight, undesirable_weight):
    """TRL KTOTrainer.kto_loss."""
    kl = (pkl - rkl).mean().detach().clamp(min=0)
    chosen = desirable_weight * (1 - torch.sigmoid(beta * ((pc - rc) - kl)))
    rejected = undesirable_weight * (1 - torch.sigmoid(beta * (kl - (pr - rr))))
    return torch.cat((chosen, rejected), 0), beta * (pc - rc).detach(), beta * (pr - rr).detach(), kl


def pairwise(chosen, rejected):
    """Reward model: -log sigmoid(r_w - r_l)."""
    return -F.logsigmoid(chosen - rejected)


def fixed_case(case):
    t = lambda key: torch.tensor(case[key], dtype=torch.float64, requires_grad=True)
    f = lambda key: torch.tensor(case[key], dtype=torch.float64)
    kind = case["kind"]
    inputs = {}
    if kind == "dpo":
        loss_type = case["loss"]
        pc, pr, rc, rr = t("policy_chosen"), t("policy_rejected"), f("ref_chosen"), f("ref_rejected")
        inputs = {"policy_chosen": pc, "policy_rejected": pr}
        if loss_type in ("ipo", "orpo", "simpo"):
            # LLaMA-Factory averages these per response token (the reference too).
            lc, lr = f("chosen_lengths"), f("rejected_lengths")
            pc_, pr_, rc_, rr_ = pc / lc, pr / lr, rc / lc, rr / lr
        else:
            pc_, pr_, rc_, rr_ = pc, pr, rc, rr
        if loss_type == "orpo":
            losses, cr, rj = orpo(pc_, pr_, case["beta"])
        elif loss_type == "simpo":
            losses, cr, rj = simpo(pc_, pr_, case["beta"], case["gamma"])
        else:
            losses, cr, rj = dpo(loss_type, pc_, pr_, rc_, rr_, case["beta"], case.get("label_smoothing", 0.0))
        extra = {}
    elif kind == "kto":
        pc, pr, pkl = t("policy_chosen"), t("policy_rejected"), t("policy_kl")
        inputs = {"policy_chosen": pc, "policy_rejected": pr}
        losses, cr, rj, kl = kto(pc, pr, pkl, f("ref_chosen"), f("ref_rejected"), f("ref_kl"),
                                 case["beta"], case["desirable_weight"], case["undesirable_weight"])
        extra = {"kl": kl.item()}
    elif kind == "pairwise":
        c, r = t("chosen"), t("rejected")
        inputs = {"chosen": c, "rejected": r}
        losses = pairwise(c, r)
        cr, rj = c.detach(), r.detach()
        extra = {}
    else:
        raise ValueError(kind)
    mean = losses.mean()
    mean.backward()
    answer = {"losses": losses.tolist(), "mean": mean.item(), "chosen_rewards": cr.tolist(), "rejected_rewards": rj.tolist()}
    for name, tensor in inputs.items():
        answer["grad_" + name] = tensor.grad.tolist()
    answer.update(extra)
    return answer


# ----------------------------------------------------------------------------------------------------------------
# PPO (TRL 0.9's PPOTrainer: compute_rewards, compute_advantages, loss; core.masked_mean/var/whiten).

def masked_mean(values, mask):
    return (values * mask).sum() / mask.sum()


def masked_var(values, mask):
    mean = masked_mean(values, mask)
    variance = masked_mean((values - mean) ** 2, mask)
    return variance * (mask.sum() / (mask.sum() - 1))


def masked_whiten(values, mask, shift_mean=True):
    mean, var = masked_mean(values, mask), masked_var(values, mask)
    whitened = (values - mean) * torch.rsqrt(var + 1e-8)
    return whitened if shift_mean else whitened + mean


def ppo_case(case):
    f = lambda key: torch.tensor(case[key], dtype=torch.float64)
    scores, old_logprobs, ref_logprobs, mask, values = f("scores"), f("old_logprobs"), f("ref_logprobs"), f("mask"), f("values")
    kl_coef, gamma, lam = case["kl_coef"], case["gamma"], case["lam"]
    rewards, non_score = [], []
    for score, logprob, ref_logprob, m in zip(scores, old_logprobs, ref_logprobs, mask):
        kl = logprob - ref_logprob
        reward = -kl_coef * kl
        non_score.append(reward.clone())
        reward[m.nonzero()[-1]] += score
        rewards.append(reward)
    rewards = torch.stack(rewards)
    values = values * mask
    r = rewards * mask
    if case["whiten_rewards"]:
        r = masked_whiten(r, mask, shift_mean=False)
    last, reversed_ = 0, []
    length = r.shape[-1]
    for t in reversed(range(length)):
        next_values = values[:, t + 1] if t < length - 1 else 0.0
        delta = r[:, t] + gamma * next_values - values[:, t]
        last = delta + gamma * lam * last
        reversed_.append(last)
    advantages = torch.stack(reversed_[::-1]).transpose(0, 1)
    returns = advantages + values
    advantages = masked_whiten(advantages, mask).detach()

    logprobs = f("new_logprobs").requires_grad_(True)
    vpreds = f("new_values").requires_grad_(True)
    clip, clip_value, vf_coef = case["cliprange"], case["cliprange_value"], case["vf_coef"]
    vpredclipped = torch.max(torch.min(vpreds, values + clip_value), values - clip_value)
    vf_loss = 0.5 * masked_mean(torch.max((vpreds - returns) ** 2, (vpredclipped - returns) ** 2), mask)
    ratio = torch.exp(logprobs - old_logprobs)
    pg_loss = masked_mean(torch.max(-advantages * ratio, -advantages * torch.clamp(ratio, 1.0 - clip, 1.0 + clip)), mask)
    loss = pg_loss + vf_coef * vf_loss
    loss.backward()
    return {"rewards": rewards.tolist(), "advantages": advantages.tolist(), "returns": returns.tolist(),
            "policy_loss": pg_loss.item(), "value_loss": (vf_coef * vf_loss).item(),
            "grad_logprobs": logprobs.grad.tolist(), "grad_values": vpreds.grad.tolist()}


# ----------------------------------------------------------------------------------------------------------------
# A Llama decoder with LoRA, for real log-probabilities.



class Decoder:
    def __init__(self, model_dir, adapter_dir):
        self.config = json.load(open(f"{model_dir}/config.json"))
        self.weights = read_safetensors(f"{model_dir}/model.safetensors", torch.float64)
        adapter = read_safetensors(f"{adapter_dir}/adapter_model.safetensors", torch.float64)
        adapter_config = json.load(open(f"{adapter_dir}/adapter_config.json"))
        self.scaling = adapter_config["lora_alpha"] / adapter_config["r"]
        self.lora = {}
        for name, tensor in adapter.items():
            key = name[len("base_model.model."):]
            module, kind = key.rsplit(".lora_", 1)
            self.lora.setdefault(module, {})[kind[0]] = tensor.clone().requires_grad_(True)
        head = read_safetensors(f"{adapter_dir}/value_head.safetensors", torch.float64)
        self.v_weight, self.v_bias = head["v_head.summary.weight"], head["v_head.summary.bias"]
        self.adapters_on = True

    def parameters(self):
        return [p for pair in self.lora.values() for p in (pair["A"], pair["B"])]

    def linear(self, name, x):
        y = x @ self.weights[f"{name}.weight"].t()
        if self.adapters_on and name in self.lora:
            y = y + (x @ self.lora[name]["A"].t()) @ self.lora[name]["B"].t() * self.scaling
        return y

    def hidden(self, ids):
        c, w = self.config, self.weights
        b, t = ids.shape
        heads, kv_heads, layers = c["num_attention_heads"], c["num_key_value_heads"], c["num_hidden_layers"]
        head_dim = c.get("head_dim") or c["hidden_size"] // heads
        eps = c["rms_norm_eps"]
        norm = lambda x, weight: weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))
        inv_freq = 1.0 / (c.get("rope_theta", 10000.0) ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
        freqs = torch.outer(torch.arange(t, dtype=torch.float64), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        rotate = lambda x: torch.cat((-x[..., head_dim // 2:], x[..., :head_dim // 2]), dim=-1)
        causal = torch.ones(t, t, dtype=torch.bool).tril()
        x = w["model.embed_tokens.weight"][ids]
        for layer in range(layers):
            p = f"model.layers.{layer}"
            h = norm(x, w[f"{p}.input_layernorm.weight"])
            q = self.linear(f"{p}.self_attn.q_proj", h).view(b, t, heads, head_dim).transpose(1, 2)
            k = self.linear(f"{p}.self_attn.k_proj", h).view(b, t, kv_heads, head_dim).transpose(1, 2)
            v = self.linear(f"{p}.self_attn.v_proj", h).view(b, t, kv_heads, head_dim).transpose(1, 2)
            q, k = q * cos + rotate(q) * sin, k * cos + rotate(k) * sin
            k = k.repeat_interleave(heads // kv_heads, dim=1)
            v = v.repeat_interleave(heads // kv_heads, dim=1)
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(head_dim)
            attention = scores.masked_fill(~causal, float("-inf")).softmax(-1) @ v
            x = x + self.linear(f"{p}.self_attn.o_proj", attention.transpose(1, 2).reshape(b, t, heads * head_dim))
            h = norm(x, w[f"{p}.post_attention_layernorm.weight"])
            x = x + self.linear(f"{p}.mlp.down_proj", F.silu(self.linear(f"{p}.mlp.gate_proj", h)) * self.linear(f"{p}.mlp.up_proj", h))
        return norm(x, w["model.norm.weight"])

    def sequence_logps(self, ids, labels):
        """LLaMA-Factory's get_batch_logps: sums of the labelled tokens' log-probs and their counts."""
        logits = self.hidden(ids) @ self.weights.get("lm_head.weight", self.weights["model.embed_tokens.weight"]).t()
        labels = labels[:, 1:].clone()
        logits = logits[:, :-1, :]
        mask = labels != -100
        labels[~mask] = 0
        per_token = torch.gather(logits.log_softmax(-1), 2, labels.unsqueeze(2)).squeeze(2)
        return (per_token * mask).sum(-1), mask.sum(-1).to(torch.float64)

    def last_token_scores(self, ids, attention_mask):
        values = self.hidden(ids) @ self.v_weight.t() + self.v_bias      # (B, T, 1)
        return values.squeeze(-1).gather(1, attention_mask.sum(-1, keepdim=True) - 1).squeeze(1)


def model_mode(model_dir, adapter_dir, batch_path):
    batch = json.load(open(batch_path))
    settings = batch["settings"]
    beta, smoothing, gamma = settings["beta"], settings["label_smoothing"], settings["simpo_gamma"]
    decoder = Decoder(model_dir, adapter_dir)
    answer = {}

    def grad_norm(loss):
        grads = torch.autograd.grad(loss, decoder.parameters(), allow_unused=True)
        return math.sqrt(sum(float((g ** 2).sum()) for g in grads if g is not None))

    ids, labels = torch.tensor(batch["pairwise"]["input_ids"]), torch.tensor(batch["pairwise"]["labels"])
    pairs = ids.shape[0] // 2
    decoder.adapters_on = False
    with torch.no_grad():
        ref_sums, _ = decoder.sequence_logps(ids, labels)
    decoder.adapters_on = True
    for loss_type in ("sigmoid", "hinge", "ipo", "kto_pair", "orpo", "simpo"):
        sums, counts = decoder.sequence_logps(ids, labels)
        if loss_type in ("ipo", "orpo", "simpo"):
            logps, refs = sums / counts, ref_sums / counts
        else:
            logps, refs = sums, ref_sums
        pc, pr, rc, rr = logps[:pairs], logps[pairs:], refs[:pairs], refs[pairs:]
        if loss_type == "orpo":
            losses, cr, rj = orpo(pc, pr, beta)
        elif loss_type == "simpo":
            losses, cr, rj = simpo(pc, pr, beta, gamma)
        else:
            losses, cr, rj = dpo(loss_type, pc, pr, rc, rr, beta, smoothing if loss_type == "sigmoid" else 0.0)
        loss = losses.mean()
        answer[loss_type] = {"loss": loss.item(), "grad_norm": grad_norm(loss), "logps": logps.tolist(),
                             "chosen_rewards": cr.tolist(), "rejected_rewards": rj.tolist()}
        if loss_type == "sigmoid":
            answer["reference_sums"] = ref_sums.tolist()

    kto_batch = batch["kto"]
    ids, labels = torch.tensor(kto_batch["input_ids"]), torch.tensor(kto_batch["labels"])
    kl_ids, kl_labels = torch.tensor(kto_batch["kl_input_ids"]), torch.tensor(kto_batch["kl_labels"])
    tags = torch.tensor(kto_batch["tags"], dtype=torch.bool)
    decoder.adapters_on = False
    with torch.no_grad():
        ref_main, _ = decoder.sequence_logps(ids, labels)
        ref_kl, _ = decoder.sequence_logps(kl_ids, kl_labels)
    decoder.adapters_on = True
    with torch.no_grad():
        policy_kl, _ = decoder.sequence_logps(kl_ids, kl_labels)
    sums, _ = decoder.sequence_logps(ids, labels)
    losses, cr, rj, kl = kto(sums[tags], sums[~tags], policy_kl, ref_main[tags], ref_main[~tags], ref_kl, beta,
                             settings["kto_chosen_weight"], settings["kto_rejected_weight"])
    loss = losses.mean()
    answer["kto"] = {"loss": loss.item(), "grad_norm": grad_norm(loss), "kl": kl.item()}

    rm_batch = batch["pairwise"]
    ids, mask = torch.tensor(rm_batch["input_ids"]), torch.tensor(rm_batch["attention_mask"])
    scores = decoder.last_token_scores(ids, mask)
    loss = pairwise(scores[:pairs], scores[pairs:]).mean()
    answer["rm"] = {"loss": loss.item(), "grad_norm": grad_norm(loss), "scores": scores.tolist()}
    return answer


def main():
    torch.set_num_threads(2)
    mode = sys.argv[1]
    if mode == "losses":
        print(json.dumps([fixed_case(case) for case in json.load(open(sys.argv[2]))]))
    elif mode == "ppo":
        print(json.dumps([ppo_case(case) for case in json.load(open(sys.argv[2]))]))
    elif mode == "model":
        print(json.dumps(model_mode(sys.argv[2], sys.argv[3], sys.argv[4])))
    else:
        raise SystemExit(f"unknown mode {mode}; use losses or model")


if __name__ == "__main__":
    main()
