#!/usr/bin/env python3
"""Runs bench_matmul and bench_elementwise and prints how the engine compares with its floors.

  matmul:      engine time vs one raw cblas_sgemm on the same shape (target: engine/raw <= 1.05)
  elementwise: GB/s and the fraction of memcpy bandwidth at the same size (target: >= 0.5)

Usage: bench/compare.py [--matmul BIN] [--elementwise BIN] [--repetitions N] [--min-time S]
                        [--filter REGEX] [--time real|cpu] [extra benchmark flags...]
Each benchmark is repeated N times, repetitions of different benchmarks interleaved in random
order, and the fastest repetition is kept: on a shared machine the fastest run is the one least
disturbed by other work. On a busy machine, DIFFT_NUM_THREADS=1 with --time cpu compares the
work done (the main thread's CPU time, page faults included) rather than the wall clock, which
other processes inflate. Reports only; always exits 0.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(os.path.dirname(HERE), "build", "bench")
TIME = "real_time"  # or "cpu_time" (--time cpu)


def run(binary, args):
    """Runs one benchmark binary; returns {name: fastest repetition's JSON entry}."""
    if not os.path.exists(binary):
        print(f"missing {binary}: build it first (ninja -C build {os.path.basename(binary)})")
        return {}
    cmd = [binary, "--benchmark_format=json", f"--benchmark_repetitions={args.repetitions}",
           f"--benchmark_min_time={args.min_time}", "--benchmark_enable_random_interleaving=true"] + args.extra
    if args.filter:
        cmd.append(f"--benchmark_filter={args.filter}")
    sys.stdout.flush()
    print("running:", " ".join(cmd), file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"{binary} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        return {}
    best = {}
    if not proc.stdout.strip():  # the filter matched nothing in this program
        return best
    for b in json.loads(proc.stdout)["benchmarks"]:
        if b.get("run_type") == "aggregate" or b.get("error_occurred"):
            continue
        name = b.get("run_name", b["name"])
        if name not in best or b[TIME] < best[name][TIME]:
            best[name] = b
    return best


def ms(b):  # time of one iteration, in ms
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
    return b[TIME] * scale


def rate(b, key):  # a per-second counter (computed by benchmark on the wall clock), on TIME
    return b[key] * b["real_time"] / b[TIME]


def matmul_table(res):
    print(f"\n{'matmul (float32)':<44}{'engine ms':>11}{'raw ms':>10}{'eng GF/s':>10}"
          f"{'raw GF/s':>10}{'ratio':>8}  target <= 1.05")
    for name, eng in sorted(res.items(), key=lambda kv: kv[1].get("family_index", 0)):
        if not name.startswith("engine/"):
            continue
        raw = res.get("raw/" + name[len("engine/"):])
        shape = name[len("engine/"):].replace("/real_time", "")
        if raw is None:
            print(f"{shape:<44}{ms(eng):>11.3f}{'-':>10}")
            continue
        ratio = ms(eng) / ms(raw)
        flag = "ok" if ratio <= 1.05 else "SLOW"
        print(f"{shape:<44}{ms(eng):>11.3f}{ms(raw):>10.3f}{rate(eng, 'GFLOP/s'):>10.1f}"
              f"{rate(raw, 'GFLOP/s'):>10.1f}{ratio:>8.3f}  {flag}")


def elementwise_table(res):
    by = {}  # (benchmark, size) -> GB/s
    for name, b in res.items():
        parts = name.split("/")  # BM_add/1048576/real_time
        by[(parts[0].removeprefix("BM_"), int(parts[1]))] = rate(b, "bytes_per_second") / 1e9
    sizes = sorted({n for _, n in by})
    print(f"\n{'elementwise (float32)':<22}{'elements':>10}{'GB/s':>9}{'memcpy GB/s':>13}"
          f"{'of memcpy':>11}{'of thr. memcpy':>16}  target >= 0.5 of memcpy")
    for op in ["memcpy", "memcpy_threads", "add", "softmax_fwd", "softmax_fwdbwd", "rmsnorm_fwd", "rmsnorm_fwdbwd"]:
        for n in sizes:
            if (op, n) not in by:
                continue
            gbs, ref, thr = by[(op, n)], by.get(("memcpy", n)), by.get(("memcpy_threads", n))
            frac = f"{gbs / ref:.2f}" if ref else "-"
            tfrac = f"{gbs / thr:.2f}" if thr else "-"
            flag = "" if op.startswith("memcpy") or not ref else ("ok" if gbs / ref >= 0.5 else "LOW")
            print(f"{op:<22}{n:>10}{gbs:>9.2f}{(ref or 0):>13.2f}{frac:>11}{tfrac:>16}  {flag}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--matmul", default=os.path.join(BUILD, "bench_matmul"))
    p.add_argument("--elementwise", default=os.path.join(BUILD, "bench_elementwise"))
    p.add_argument("--repetitions", type=int, default=3)
    p.add_argument("--min-time", type=float, default=0.5, help="seconds per benchmark run")
    p.add_argument("--filter", default="", help="--benchmark_filter for both binaries")
    p.add_argument("--time", choices=["real", "cpu"], default="real",
                   help="wall clock (default) or the main thread's CPU time")
    p.add_argument("extra", nargs="*", help="more flags passed to both binaries (after --)")
    args = p.parse_args()
    global TIME
    TIME = args.time + "_time"
    mm = run(args.matmul, args)
    if mm:
        matmul_table(mm)
    ew = run(args.elementwise, args)
    if ew:
        elementwise_table(ew)
    print("\nGB/s = 1e9 bytes/s; each tensor read or written counted once. Times: fastest of"
          f" {args.repetitions} repetitions, {'wall clock' if args.time == 'real' else 'CPU time of the main thread'}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
