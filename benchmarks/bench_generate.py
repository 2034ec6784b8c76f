"""Text generation speed (issue 30): nnpy with its key/value cache vs the same GPT in PyTorch
generating as nanoGPT's ``sample.py`` does (no cache: the whole window, up to ``block_size``
characters, through the model again for every new character). Each library in its own process.

    python benchmarks/bench_generate.py [--tokens 500] [--rounds 3] [--threads 2]

The model is configs/gpt-shakespeare-baby.yaml's (4 blocks of width 128, 4 heads, block 64,
vocabulary 65; seeded random weights: the speed does not depend on them). Both draw each character
from softmax(logits / 0.8) among the 40 likeliest, starting from one character. A round runs a
fresh process per library, the two taking turns going first; each process generates 50 warm-up
characters, then times ``--tokens``. Prints characters per second of each (median over rounds,
min–max) and the ratio nnpy ÷ PyTorch (higher is better for nnpy).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_gpt import BLOCK, alternating_rounds, nnpy_gpt, print_medians, torch_gpt  # noqa: E402
from bench_train import cpu_model  # noqa: E402

TEMPERATURE, TOP_K, WARMUP = 0.8, 40, 50


def nnpy_chars_per_second(tokens: int) -> float:
    from nnpy.engine.generate import sample_ids
    model = nnpy_gpt()
    for _ in sample_ids(model, [0], WARMUP, TEMPERATURE, TOP_K, seed=0):
        pass
    start = time.perf_counter()
    count = sum(1 for _ in sample_ids(model, [0], tokens, TEMPERATURE, TOP_K, seed=1))
    return count / (time.perf_counter() - start)


def torch_chars_per_second(tokens: int) -> float:
    import torch
    model = torch_gpt().eval()
    torch.manual_seed(1)

    @torch.no_grad()
    def generate(count: int):
        """nanoGPT's GPT.generate: crop to the block, run the whole context, sample the last position."""
        idx = torch.zeros((1, 1), dtype=torch.long)
        for _ in range(count):
            logits = model(idx[:, -BLOCK:])[:, -1, :] / TEMPERATURE
            v, _ = torch.topk(logits, TOP_K)
            logits[logits < v[:, [-1]]] = -float("inf")
            idx = torch.cat((idx, torch.multinomial(torch.softmax(logits, dim=-1), num_samples=1)), dim=1)
        return idx

    generate(WARMUP)
    start = time.perf_counter()
    generate(tokens)
    return tokens / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--lib", choices=["nnpy", "torch"], help=argparse.SUPPRESS)   # a worker process
    args = parser.parse_args()
    if args.lib:
        if args.lib == "torch":
            import torch
            torch.set_num_threads(args.threads)
            rate = torch_chars_per_second(args.tokens)
        else:
            rate = nnpy_chars_per_second(args.tokens)
        print(json.dumps({"lib": args.lib, "chars_per_s": rate}))
        return
    rates = alternating_rounds(__file__, ["--tokens", str(args.tokens)], "chars_per_s", args.threads, args.rounds)
    print(f"CPU: {cpu_model()}; {args.threads} thread(s) each; "
          f"{args.tokens} characters after {WARMUP} warm-up, {args.rounds} rounds")
    print_medians(rates, "chars/s", "nnpy ÷ PyTorch (chars/s)")

if __name__ == "__main__":
    main()
