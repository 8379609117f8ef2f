#!/usr/bin/python3
"""train_step_torch.py: the training-step benchmark of bench_train_step.cpp in PyTorch eager.

The same configs, models and step as the C++ benchmark (bench/README.md):
    zero_grad -> forward -> cross-entropy -> backward -> clip_grad_norm_(1.0) -> AdamW step
The models are the project's PyTorch twin (scripts/torch_reference.py: plain readable modules,
causal softmax over the full T x T map, interleaved RoPE), float32, on the CPU with
torch.set_num_threads(--threads). Random int64 tokens from a seeded generator; warm-up steps,
then timed steps; tokens/s = B*T*steps / wall time of the timed steps (cpu_tokens_per_s: over the
process's CPU time instead, all threads).

Run with Debian's python3-torch 1.13: /usr/bin/python3 bench/train_step_torch.py [--threads 2]
Prints one line per (config, model) and, with --json FILE, writes the results there.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from torch_reference import LM  # noqa: E402  (the path above makes it importable)

# name: (vocab, d_model, layers, baseline heads, seq, batch), as kConfigs in bench_train_step.cpp
CONFIGS = {
    "small": (256, 256, 6, 8, 256, 8),
    "medium": (256, 512, 8, 8, 512, 4),
}


def model_config(name, attention):
    vocab, d_model, layers, heads, seq, _ = CONFIGS[name]
    return dict(attention=attention, vocab_size=vocab, d_model=d_model, n_layers=layers, n_heads=heads, n_kv_heads=heads,
                ffn_hidden=int(d_model * 8 / 3), max_seq_len=seq, rope_theta=10000.0, norm_eps=1e-5)


def bench(name, attention, warmup, steps):
    torch.manual_seed(1)
    c = model_config(name, attention)
    model = LM(c)
    vocab, _, _, _, T, B = CONFIGS[name]
    g = torch.Generator().manual_seed(1234)
    seq = torch.randint(0, vocab, (B, T + 1), generator=g)
    tokens, targets = seq[:, :-1].contiguous(), seq[:, 1:].contiguous()
    named = dict(model.named_parameters())
    decay = [p for p in named.values() if p.dim() >= 2]
    no_decay = [p for p in named.values() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=3e-4, betas=(0.9, 0.95), eps=1e-8)
    params = list(model.parameters())

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(tokens).view(-1, vocab), targets.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return float(loss)

    for _ in range(warmup):
        step()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        loss = step()
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    return dict(config=name, model=attention, tokens_per_s=B * T * steps / dt, cpu_tokens_per_s=B * T * steps / cpu,
                step_ms=dt / steps * 1e3, loss=loss, params=sum(p.numel() for p in params))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch.set_num_threads (default: all cores)")
    ap.add_argument("--configs", default="small,medium", help="comma-separated: small, medium")
    ap.add_argument("--models", default="diff,standard", help="comma-separated: diff, standard")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    ap.add_argument("--steps", type=int, default=3, help="timed steps (default 3)")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    results = []
    for name in args.configs.split(","):
        if name not in CONFIGS:
            ap.error(f"unknown config '{name}' (expected one of {', '.join(CONFIGS)})")
        for attention in args.models.split(","):
            if attention not in ("diff", "standard"):
                ap.error(f"unknown model '{attention}' (expected diff or standard)")
            r = bench(name, attention, args.warmup, max(1, args.steps))
            results.append(r)
            print(f"torch {torch.__version__} threads {args.threads}: {name}/{attention}: {r['tokens_per_s']:.1f} tokens/s "
                  f"({r['step_ms']:.0f} ms/step, loss {r['loss']:.4f}, {r['params']} params)", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(torch_version=torch.__version__, threads=args.threads, results=results), f, indent=1)


if __name__ == "__main__":
    main()
