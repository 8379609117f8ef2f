#!/usr/bin/env python3
"""compare_train.py: difft vs PyTorch eager on the training-step benchmark, in one run.

For each (config, model) pair it runs build/bench/bench_train_step (JSON output) and then
bench/train_step_torch.py on the same thread count, back to back, so that both see the same
machine load; --rounds N repeats the whole sweep (a loaded machine makes single runs noisy: compare
ratios, not absolute numbers). Prints, per (config, model):

    difft tok/s  torch tok/s  ratio  ratio min-max  peak frac  cpu ratio  cpu peak frac

tok/s is the best of the rounds (the run least disturbed by other work), ratio = difft / torch of
those bests (wall time), ratio min-max the spread of the per-round ratios. peak frac = difft's model FLOP/s over the sgemm
peak it measured at start-up (bench/README.md has the FLOP formula). cpu ratio and cpu peak frac:
the same per CPU-second of each process (all threads), which other load on the machine disturbs far
less than wall time (threads that spin while waiting count as work). PyTorch is optional: when its
interpreter cannot import torch, only difft runs.

Run: python3 bench/compare_train.py [--build build] [--threads 2] [--rounds 3] [--json out.json]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run_difft(exe, config, model, args):
    env = dict(os.environ, DIFFT_NUM_THREADS=str(args.threads))
    cmd = [exe, f"--benchmark_filter=^train_step/{config}/{model}/", "--benchmark_format=json",
           f"--steps={args.steps}", f"--warmup={args.warmup}", f"--attention={args.attention}"]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    doc = json.loads(out)
    (b,) = [b for b in doc["benchmarks"] if b.get("run_type", "iteration") == "iteration"]
    return dict(tokens_per_s=b["tokens/s"], cpu_tokens_per_s=b["cpu_tokens/s"], peak_frac=b["peak_frac"],
                cpu_peak_frac=b["cpu_peak_frac"], gflops=b["GFLOP/s"],
                peak_gflops=float(doc["context"]["sgemm_peak_gflops"]),
                cpu_peak_gflops=float(doc["context"]["sgemm_peak_gflops_per_cpu_s"]), fwd_ms=b["fwd_ms"], bwd_ms=b["bwd_ms"],
                opt_ms=b["opt_ms"], loss=b["loss"])


def run_torch(python, config, model, args):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "torch.json")
        cmd = [python, os.path.join(HERE, "train_step_torch.py"), "--configs", config, "--models", model,
               "--threads", str(args.threads), "--steps", str(args.steps), "--warmup", str(args.warmup), "--json", path]
        env = dict(os.environ)
        if args.omp_passive:
            env["OMP_WAIT_POLICY"] = "PASSIVE"
        subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
        with open(path) as f:
            doc = json.load(f)
    (r,) = doc["results"]
    return dict(tokens_per_s=r["tokens_per_s"], cpu_tokens_per_s=r["cpu_tokens_per_s"], loss=r["loss"],
                version=doc["torch_version"])


def torch_available(python):
    if not python or not shutil.which(python):
        return None
    r = subprocess.run([python, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="CMake build folder (default: build)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for both (default: all cores)")
    ap.add_argument("--configs", default="small,medium")
    ap.add_argument("--models", default="diff,standard")
    ap.add_argument("--steps", type=int, default=3, help="timed steps per run (default 3)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps per run (default 1)")
    ap.add_argument("--rounds", type=int, default=1, help="repeat the sweep; report the best and the spread (default 1)")
    ap.add_argument("--attention", default="fused", choices=["fused", "reference"], help="difft's attention path")
    ap.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable,
                    help="interpreter with torch (default /usr/bin/python3, Debian's python3-torch)")
    ap.add_argument("--omp-passive", action="store_true",
                    help="run torch with OMP_WAIT_POLICY=PASSIVE (its OpenMP threads sleep instead of spinning; "
                         "kinder to torch on a loaded machine)")
    ap.add_argument("--no-torch", action="store_true", help="run difft only")
    ap.add_argument("--json", help="write every measurement here")
    args = ap.parse_args()

    exe = os.path.join(args.build, "bench", "bench_train_step")
    if not os.path.exists(exe):
        sys.exit(f"compare_train: {exe} not found; build it first (ninja -C {args.build} bench_train_step)")
    torch_version = None if args.no_torch else torch_available(args.python)
    if not args.no_torch and torch_version is None:
        print(f"compare_train: torch does not import with {args.python}; running difft only", file=sys.stderr)

    pairs = [(c, m) for c in args.configs.split(",") for m in args.models.split(",")]
    runs = {p: [] for p in pairs}
    for rnd in range(args.rounds):
        for config, model in pairs:
            d = run_difft(exe, config, model, args)
            t = run_torch(args.python, config, model, args) if torch_version else None
            runs[(config, model)].append(dict(difft=d, torch=t))
            line = f"round {rnd + 1}/{args.rounds} {config}/{model}: difft {d['tokens_per_s']:.0f} tok/s"
            if t:
                line += f", torch {t['tokens_per_s']:.0f} tok/s, ratio {d['tokens_per_s'] / t['tokens_per_s']:.2f}"
            print(line, file=sys.stderr, flush=True)

    med = statistics.median
    print(f"\nthreads {args.threads}, attention {args.attention}, {args.steps} timed steps after {args.warmup} warm-up, "
          f"{args.rounds} round(s); torch {torch_version or 'not run'}"
          f"{' with OMP_WAIT_POLICY=PASSIVE' if args.omp_passive and torch_version else ''}")
    peaks = [r["difft"]["peak_gflops"] for rs in runs.values() for r in rs]
    cpu_peaks = [r["difft"]["cpu_peak_gflops"] for rs in runs.values() for r in rs]
    print(f"difft-measured sgemm peak (2048^3): max {max(peaks):.1f} GFLOP/s of wall time (min {min(peaks):.1f}); "
          f"{med(cpu_peaks):.1f} GFLOP per CPU-second (median)")
    print("tok/s: best of the rounds (the least disturbed run); ratio: of the bests; peak frac: of difft's best run; "
          "cpu columns: medians\n")
    head = (f"{'config':<8} {'model':<9} {'difft tok/s':>12} {'torch tok/s':>12} {'ratio':>6} {'ratio min-max':>14} "
            f"{'peak frac':>10} {'cpu ratio':>10} {'cpu peak frac':>14}")
    print(head)
    print("-" * len(head))
    for (config, model), rs in runs.items():
        best = max(rs, key=lambda r: r["difft"]["tokens_per_s"])["difft"]
        cpf = med([r["difft"]["cpu_peak_frac"] for r in rs])
        row = f"{config:<8} {model:<9} {best['tokens_per_s']:>12.0f}"
        if torch_version:
            tt = max(r["torch"]["tokens_per_s"] for r in rs)
            ratios = [r["difft"]["tokens_per_s"] / r["torch"]["tokens_per_s"] for r in rs]
            cpu_ratios = [r["difft"]["cpu_tokens_per_s"] / r["torch"]["cpu_tokens_per_s"] for r in rs]
            spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
            row += (f" {tt:>12.0f} {best['tokens_per_s'] / tt:>6.2f} {spread:>14} {best['peak_frac']:>10.3f}"
                    f" {med(cpu_ratios):>10.2f} {cpf:>14.3f}")
        else:
            row += f" {'-':>12} {'-':>6} {'-':>14} {best['peak_frac']:>10.3f} {'-':>10} {cpf:>14.3f}"
        print(row)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(threads=args.threads, attention=args.attention, steps=args.steps, warmup=args.warmup,
                           torch_version=torch_version,
                           runs=[dict(config=c, model=m, rounds=rs) for (c, m), rs in runs.items()]), f, indent=1)


if __name__ == "__main__":
    main()
