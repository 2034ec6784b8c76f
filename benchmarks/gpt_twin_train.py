"""The baby GPT recipe trained in PyTorch (nanoGPT's train.py, written out): what seed-to-seed
spread the anchor itself has, to read nnpy's val loss against (issue 30).

    python benchmarks/gpt_twin_train.py --seeds 1337 1 2 [--threads 1]

configs/gpt-shakespeare-baby.yaml's recipe on the same text and split: the model of
bench_gpt.py's ``torch_gpt`` (biases on, as the config) initialized as nanoGPT (N(0, 0.02), the
residual projections N(0, 0.02/√(2·n_layer)), zero biases), batches of 12 random windows of 64,
AdamW lr 1e-3, betas (0.9, 0.99), weight decay 0.1 on tensors of 2 or more dimensions, 100
warm-up steps then cosine to 1e-4 at step 2000, gradient clipping at 1.0; the validation loss
after 2000 steps on 200 random batches of 12 held-out windows (nanoGPT's ``estimate_loss``).
Prints one line per seed and the mean. PyTorch only (nnpy is not imported).
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_gpt import BATCH, BLOCK, LAYERS, torch_gpt  # noqa: E402

TEXT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "shakespeare", "input.txt")
STEPS, WARMUP, LR, MIN_LR, EVAL_BATCHES = 2000, 100, 1e-3, 1e-4, 200


def lr_at(it: int, steps: int = STEPS) -> float:
    """nanoGPT's get_lr: linear warm-up, cosine decay to MIN_LR at ``steps``."""
    if it < WARMUP:
        return LR * (it + 1) / (WARMUP + 1)
    ratio = (it - WARMUP) / (steps - WARMUP)
    return MIN_LR + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (LR - MIN_LR)


def val_loss_after_training(seed: int, steps: int = STEPS) -> float:
    import torch
    import torch.nn.functional as tf
    text = open(TEXT, encoding="utf-8").read()
    vocabulary = sorted(set(text))
    index = {c: i for i, c in enumerate(vocabulary)}
    data = torch.tensor([index[c] for c in text], dtype=torch.long)
    n = int(len(data) * 0.9)
    train, val = data[:n], data[n:]
    model = torch_gpt()
    torch.manual_seed(seed)          # after torch_gpt, which seeds its own default initialization
    for name, p in model.named_parameters():
        if name.endswith("c_proj.weight") or name.endswith("mlp.2.weight"):
            torch.nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * LAYERS))
        elif name.endswith("bias") and "ln" not in name:
            torch.nn.init.zeros_(p)
        elif p.dim() >= 2:
            torch.nn.init.normal_(p, 0.0, 0.02)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=LR, betas=(0.9, 0.99))

    def batch(split):
        ix = torch.randint(len(split) - BLOCK, (BATCH,))
        return (torch.stack([split[i:i + BLOCK] for i in ix]), torch.stack([split[i + 1:i + 1 + BLOCK] for i in ix]))

    def loss_of(x, y):
        logits = model(x)
        return tf.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))

    for it in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(it, steps)
        x, y = batch(train)
        loss = loss_of(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    model.eval()
    with torch.no_grad():
        return float(torch.stack([loss_of(*batch(val)) for _ in range(EVAL_BATCHES)]).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1337, 1, 2])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    losses = []
    for seed in args.seeds:
        losses.append(val_loss_after_training(seed, args.steps))
        print(f"seed {seed}: val loss after {args.steps} steps {losses[-1]:.4f}", flush=True)
    print(f"mean over {len(losses)} seeds: {statistics.mean(losses):.4f} (min {min(losses):.4f}, max {max(losses):.4f})")


if __name__ == "__main__":
    main()
