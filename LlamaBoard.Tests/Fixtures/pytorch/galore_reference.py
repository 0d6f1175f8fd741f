#!/usr/bin/python3
"""Reference for LlamaBoard's GaLore optimizer, in plain PyTorch (Debian's python3-torch).

Restates galore_torch's AdamW with GaLoreProjector (proj_type "std") as LLaMA-Factory configures it: gradients of
the target weights are projected on their top-r singular vectors (right side when rows >= columns, else left),
recomputed by SVD at the first step and every update_proj_gap steps (each singular vector's sign fixed so that its
largest component is positive, where galore_torch leaves the LAPACK routine's sign); Adam's moments live in the projected shape;
the normalised step exp_avg / (sqrt(exp_avg_sq) + eps) is projected back and multiplied by scale; the step size is
lr * sqrt(1 - beta2^t) / (1 - beta1^t), and decoupled weight decay p -= lr * wd * p follows the update.

Usage: galore_reference.py INPUT_JSON
INPUT_JSON: {"settings": {lr, weight_decay, beta1, beta2, eps, rank, gap, scale},
             "params": [{"name", "values" (nested list), "galore": bool, "decay": bool}],
             "grads": [[per-step gradient for each param, nested lists], ...]}
Prints JSON {"params": [final values, nested lists]}.
"""
import json
import math
import sys

import torch


class Projector:
    def __init__(self, rank, gap, scale):
        self.rank, self.gap, self.scale = rank, gap, scale
        self.matrix = None
        self.right = True

    def project(self, grad, step):
        self.right = grad.shape[0] >= grad.shape[1]
        if self.matrix is None or step % self.gap == 0:
            u, s, vh = torch.linalg.svd(grad.float(), full_matrices=False)
            vectors = vh[: self.rank, :] if self.right else u[:, : self.rank].t()
            # Fixed signs (largest component positive), as LlamaBoard does: the moments carried over a refresh
            # would otherwise depend on the LAPACK build's sign convention.
            largest = vectors.abs().argmax(dim=1, keepdim=True)
            vectors = vectors * vectors.gather(1, largest).sign()
            self.matrix = vectors if self.right else vectors.t()
        return grad @ self.matrix.t() if self.right else self.matrix.t() @ grad

    def project_back(self, low):
        return (low @ self.matrix if self.right else self.matrix @ low) * self.scale


def main():
    data = json.load(open(sys.argv[1]))
    torch.set_num_threads(2)
    s = data["settings"]
    params = [torch.tensor(p["values"], dtype=torch.float32) for p in data["params"]]
    states = [{"step": 0, "m": None, "v": None,
               "projector": Projector(s["rank"], s["gap"], s["scale"]) if p["galore"] else None} for p in data["params"]]
    for step_grads in data["grads"]:
        for i, spec in enumerate(data["params"]):
            grad = torch.tensor(step_grads[i], dtype=torch.float32)
            state = states[i]
            if state["projector"] is not None:
                grad = state["projector"].project(grad, state["step"])
            if state["m"] is None:
                state["m"] = torch.zeros_like(grad)
                state["v"] = torch.zeros_like(grad)
            state["m"].mul_(s["beta1"]).add_(grad, alpha=1 - s["beta1"])
            state["v"].mul_(s["beta2"]).addcmul_(grad, grad, value=1 - s["beta2"])
            denom = state["v"].sqrt().add_(s["eps"])
            state["step"] += 1
            step_size = s["lr"] * math.sqrt(1 - s["beta2"] ** state["step"]) / (1 - s["beta1"] ** state["step"])
            update = state["m"] / denom
            if state["projector"] is not None:
                update = state["projector"].project_back(update)
            params[i].add_(update, alpha=-step_size)
            if spec["decay"] and s["weight_decay"] > 0:
                params[i].add_(params[i], alpha=-s["lr"] * s["weight_decay"])
    print(json.dumps({"params": [p.tolist() for p in params]}))


if __name__ == "__main__":
    main()
