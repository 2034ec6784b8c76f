"""The baby GPT's training step, nnpy vs a PyTorch twin (issue 30), each library in its own process.

    python benchmarks/bench_gpt.py [--steps 30] [--warmup 5] [--threads 2] [--rounds 5]

The step is configs/gpt-shakespeare-baby.yaml's: batch 12 of 64 random ids, vocabulary 65, 4 blocks
of width 128 and 4 heads, cross-entropy, backward, gradient clipping at 1.0, AdamW (weight decay on
matrices). The PyTorch twin is nanoGPT's model written out (pre-LN blocks, exact GELU, tied
embeddings, causal scaled_dot_product_attention), float32, the same threads. A round runs a fresh
process per library, the two taking turns going first; prints each library's median ms/step over
the rounds (min–max) and their ratio (nnpy ÷ PyTorch), with the range of the rounds' ratios.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_train import cpu_model  # noqa: E402

BATCH, BLOCK, VOCAB, LAYERS, HEADS, WIDTH = 12, 64, 65, 4, 4, 128


def time_steps(step, steps: int, warmup: int) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2] * 1000


def nnpy_gpt():
    """The baby GPT as an nnpy model (compiled: AdamW as the config's), and nnpy's thread setup."""
    import nnpy
    from nnpy.symbols import model_layers
    nnpy.set_num_threads()           # as the nnpy command does for every run
    nnpy.keep_freed_memory()
    model = nnpy.Sequential(model_layers({"symbol": "gpt", "n_layer": LAYERS, "n_head": HEADS, "n_embd": WIDTH},
                                         (BLOCK,), VOCAB), seed=0)
    model.compile(optimizer={"type": "adamw", "lr": 1e-3, "beta2": 0.99, "weight_decay": 0.1,
                             "weight_decay_on": "matrices", "max_grad_norm": 1.0}, loss="cross_entropy")
    model.build((BLOCK,))
    return model


def nnpy_step():
    import numpy as np
    model = nnpy_gpt()
    rng = np.random.default_rng(0)

    def step():
        x = rng.integers(0, VOCAB, (BATCH, BLOCK))
        logits = model.forward(x, training=True)
        model.loss.forward(logits, x)
        model.backward(model.loss.backward())
        model.optimizer.step()
    return step


def torch_gpt():
    """The baby GPT in PyTorch: nanoGPT's model written out (ids (N, T) -> logits (N, T, VOCAB))."""
    import torch
    import torch.nn as tnn
    torch.manual_seed(0)

    class Block(tnn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = tnn.LayerNorm(WIDTH), tnn.LayerNorm(WIDTH)
            self.c_attn, self.c_proj = tnn.Linear(WIDTH, 3 * WIDTH), tnn.Linear(WIDTH, WIDTH)
            self.mlp = tnn.Sequential(tnn.Linear(WIDTH, 4 * WIDTH), tnn.GELU(), tnn.Linear(4 * WIDTH, WIDTH))

        def forward(self, x):
            n, t, d = x.shape
            q, k, v = self.c_attn(self.ln1(x)).split(d, dim=2)
            q, k, v = (a.view(n, t, HEADS, d // HEADS).transpose(1, 2) for a in (q, k, v))
            y = tnn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.c_proj(y.transpose(1, 2).contiguous().view(n, t, d))
            return x + self.mlp(self.ln2(x))

    class GPT(tnn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = tnn.Embedding(VOCAB, WIDTH), tnn.Embedding(BLOCK, WIDTH)
            self.blocks, self.ln_f = tnn.Sequential(*[Block() for _ in range(LAYERS)]), tnn.LayerNorm(WIDTH)

        def forward(self, ids):
            h = self.blocks(self.wte(ids) + self.wpe(torch.arange(ids.shape[1])))
            return self.ln_f(h) @ self.wte.weight.T

    return GPT()


def torch_step():
    import torch
    import torch.nn as tnn
    model = torch_gpt()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.99))

    def step():
        x = torch.randint(0, VOCAB, (BATCH, BLOCK))
        loss = tnn.functional.cross_entropy(model(x).view(-1, VOCAB), x.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return step


def alternating_rounds(script: str, argv: list[str], key: str, threads: int, rounds: int) -> dict:
    """{"nnpy": [...], "torch": [...]}: ``key`` of what ``script --lib LIB argv`` prints, one fresh
    process per library per round, the two taking turns going first, ``threads`` threads each."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
           "NNPY_NUM_THREADS": str(threads)}
    values = {"nnpy": [], "torch": []}
    for round_ in range(rounds):
        for lib in ("nnpy", "torch") if round_ % 2 == 0 else ("torch", "nnpy"):
            out = subprocess.run([sys.executable, script, "--lib", lib, *argv, "--threads", str(threads)], env=env,
                                 capture_output=True, text=True, check=True).stdout
            values[lib].append(json.loads(out.strip().splitlines()[-1])[key])
    return values


def print_medians(values: dict, unit: str, ratio_name: str) -> None:
    """Each library's median (min–max over the rounds) and the ratio of the medians, nnpy ÷ PyTorch."""
    for lib, v in values.items():
        print(f"{lib:5s} {statistics.median(v):8.1f} {unit}  ({min(v):.1f}–{max(v):.1f})")
    ratios = [n / t for n, t in zip(values["nnpy"], values["torch"])]
    print(f"{ratio_name}: {statistics.median(values['nnpy']) / statistics.median(values['torch']):.2f} "
          f"(rounds {min(ratios):.2f}–{max(ratios):.2f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--lib", choices=["nnpy", "torch"], help=argparse.SUPPRESS)   # a worker process
    args = parser.parse_args()
    if args.lib:
        if args.lib == "torch":
            import torch
            torch.set_num_threads(args.threads)
        step = nnpy_step() if args.lib == "nnpy" else torch_step()
        print(json.dumps({"lib": args.lib, "ms": time_steps(step, args.steps, args.warmup)}))
        return
    ms = alternating_rounds(__file__, ["--steps", str(args.steps), "--warmup", str(args.warmup)], "ms",
                            args.threads, args.rounds)
    print(f"CPU: {cpu_model()}; {args.threads} thread(s) each; {args.rounds} rounds of {args.steps} steps "
          f"after {args.warmup} warm-up, each library in its own process")
    print_medians(ms, "ms/step", "nnpy ÷ PyTorch")

if __name__ == "__main__":
    main()
