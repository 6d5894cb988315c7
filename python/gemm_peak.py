#!/usr/bin/env python3
"""The CPU's measured peak: GFLOP/s of a large matrix product (torch.mm), the
kernel that should come closest to the cores' peak, with the same LibTorch CPU
kernels as cdae (the torch wheel's: MKL for fp32, oneDNN for bf16).

  gemm_peak.py [--n 4096] [--reps 10] [--threads 1] [--dtypes fp32,bf16] [--max-seconds 60] [--json]

Per dtype: C = A @ B with A, B n x n random, `reps` timed products after one
untimed one; 2 n^3 FLOP each; the best (the peak figure) and the median GFLOP/s.
--threads 0 keeps torch's default (OMP_NUM_THREADS). With several threads the
figure is for all of them together.

A 512 x 512 probe first estimates each dtype's speed: where n x n would take
longer than --max-seconds for all products (bf16 on a CPU without AVX-512 BF16
or AMX takes a scalar fallback, some 300x slower than fp32), n is halved until
it fits (not below 512) and the result says so ("n" and "n_requested").
"""
import argparse
import json
import statistics
import sys
import time

import torch

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp64": torch.float64}


def fitting_size(n, dtype, reps, max_seconds):
    """n, halved until reps + 1 products of n x n fit max_seconds by a 512 x 512 probe's speed."""
    probe = 512
    if n <= probe:
        return n
    a = torch.rand(probe, probe).to(dtype)
    torch.mm(a, a)
    t0 = time.perf_counter()
    torch.mm(a, a)
    rate = 2.0 * probe ** 3 / max(time.perf_counter() - t0, 1e-9)
    while n > probe and (reps + 1) * 2.0 * n ** 3 / rate > max_seconds:
        n //= 2
    return max(n, probe)


def measure(n, dtype, reps):
    g = torch.Generator().manual_seed(0)
    a = torch.rand(n, n, generator=g).to(dtype)
    b = torch.rand(n, n, generator=g).to(dtype)
    c = torch.empty(n, n, dtype=dtype)
    torch.mm(a, b, out=c)  # untimed: first-touch, kernel selection
    rates = []
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(a, b, out=c)
        rates.append(2.0 * n ** 3 / (time.perf_counter() - t0) / 1e9)
    return {"n": n, "reps": reps, "best_gflops": max(rates), "median_gflops": statistics.median(rates),
            "worst_gflops": min(rates)}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=4096, help="matrix size (n x n times n x n)")
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    p.add_argument("--dtypes", default="fp32,bf16")
    p.add_argument("--max-seconds", type=float, default=60.0, help="time budget per dtype (n shrinks to fit)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    result = {"torch": torch.__version__, "threads": torch.get_num_threads(),
              "cpu_capability": torch.backends.cpu.get_cpu_capability(), "dtypes": {}}
    for name in [d for d in args.dtypes.split(",") if d]:
        try:
            n = fitting_size(args.n, DTYPES[name], args.reps, args.max_seconds)
            r = measure(n, DTYPES[name], args.reps)
            r["n_requested"] = args.n
        except Exception as e:  # noqa: BLE001 (a dtype without kernels here)
            r = {"skipped": "%s: %s" % (type(e).__name__, str(e).strip().splitlines()[-1] if str(e).strip() else "")}
        result["dtypes"][name] = r
        if not args.json:
            if "skipped" in r:
                print("%-5s skipped: %s" % (name, r["skipped"]))
            else:
                print("%-5s %d x %d, %d threads: best %.1f GFLOP/s, median %.1f (worst %.1f) over %d products%s"
                      % (name, r["n"], r["n"], result["threads"], r["best_gflops"], r["median_gflops"],
                         r["worst_gflops"], args.reps,
                         "" if r["n"] == args.n else " (n reduced from %d to fit --max-seconds)" % args.n))
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
