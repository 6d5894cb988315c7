#!/usr/bin/env python3
"""PyTorch side of the speed benchmark: ms per epoch of the reference model.

  bench_reference.py --config CFG.json [--device cpu|cuda] [--variants V1,V2,...]
                     [--epochs K] [--warmup W] [--threads T] [--procs N] [--json]

Variants: fp32 (eager), bf16 (eager under bf16 autocast), compile-fp32 and
compile-bf16 (torch.compile with the default backend: inductor, which on a CPU
writes C++/OpenMP kernels and needs a C++ compiler), tf32 (CUDA only). Default:
fp32,bf16,compile-fp32,compile-bf16 on a CPU, fp32,tf32,bf16,compile-bf16 on CUDA.
A variant that cannot run here (no kernels, no compiler, ...) is reported as
skipped with the reason.

One epoch = a batch generated on the device (one image rotated with grid_sample),
one training step on batch_size_train normal + contrastive_loss.n_outliers defects
(recovery + contrastive loss, Adam lr = learning_rate, weight_decay 1e-8), then one
validation forward in eval mode on batch_size_val + n_outliers_val. Losses are read
back each epoch (.item()), as a training loop printing its line would.

Timing: W warm-up epochs, then K timed epochs; per variant the median, min, max,
mean, standard deviation and interquartile range of the timed epochs' ms. The
warm-up is timed apart: warmup_s is its total, first_epoch_ms the first epoch,
and for the compile variants compile_s = warmup_s - W x median (what the warm-up
took beyond W steady epochs: tracing, code generation, C++ compilation, one graph
per batch shape and train/eval mode). Compile variants get at least one warm-up
epoch. Inductor caches compiled code on disk (TORCHINDUCTOR_CACHE_DIR): with
--compile-cache fresh (the default) every run starts from an empty temporary
cache, so compile_s is the cold compile a new run pays; "keep" uses the usual
cache, which makes repeated runs compile in seconds.
gflops counts the convolutions' multiply-accumulates as cdae-bench does
(2 FLOP per MAC, training = 3 x forward: see forward_macs_per_sample).

--procs N (CPU): N processes started here (torch.multiprocessing spawn, loopback
127.0.0.1 only), torch.distributed on the gloo backend, the model in
DistributedDataParallel; each process makes and trains its share of the batch
(batch sizes split as evenly as possible) with --threads threads (default 1),
the contrastive term on the latents of all ranks (all_gather with autograd), as
cdae does; the input batch norm uses each rank's own batch statistics (PyTorch's
SyncBatchNorm has no CPU kernels). Rank 0's epochs are timed, collectives
included. Each variant runs in a fresh set of processes.
"""
import argparse
import contextlib
import json
import os
import socket
import statistics
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdae_reference as R  # noqa: E402

CPU_VARIANTS = "fp32,bf16,compile-fp32,compile-bf16"
CUDA_VARIANTS = "fp32,tf32,bf16,compile-bf16"
KNOWN_VARIANTS = ("fp32", "tf32", "bf16", "compile-fp32", "compile-bf16", "compile-tf32")


def set_tf32(enabled):
    if not torch.cuda.is_available():
        return
    if hasattr(torch.backends.cuda.matmul, "fp32_precision"):  # torch >= 2.9
        mode = "tf32" if enabled else "ieee"
        torch.backends.cuda.matmul.fp32_precision = mode
        torch.backends.cudnn.conv.fp32_precision = mode
    else:
        torch.backends.cuda.matmul.allow_tf32 = enabled
        torch.backends.cudnn.allow_tf32 = enabled


def forward_macs_per_sample(arch):
    """Multiply-accumulates of one sample's forward pass, convolutions only: the
    same count as cdae's Architecture::forward_macs_per_sample (src/model/architecture.cpp).
    Conv3d: out_channels x output elements x in_channels x kernel volume; ConvLSTM
    (3x3 gate convolution on [x, h]): pixels x 4 h x (in + h) x 9; ConvTranspose3d:
    in_channels x input elements x out_channels x kernel volume."""
    s = [arch["seqlen"], arch["height"], arch["width"]]
    enc = []
    for layer in arch["encoder"]:
        s = [(s[d] - layer["kernel"][d]) // layer["stride"][d] + 1 for d in range(3)]
        enc.append(s)
    macs, in_c = 0.0, arch["in_channels"]
    for layer, o in zip(arch["encoder"], enc):
        k = layer["kernel"]
        macs += float(layer["out"]) * o[0] * o[1] * o[2] * in_c * k[0] * k[1] * k[2]
        in_c = layer["out"]
    z = enc[-1]
    pixels = float(z[0]) * z[1] * z[2]
    for h in arch["lstm"]:
        macs += pixels * 4.0 * h * (in_c + h) * 9.0
        in_c = h
    s = z
    for layer in arch["decoder"]:
        k = layer["kernel"]
        macs += float(in_c) * s[0] * s[1] * s[2] * layer["out"] * k[0] * k[1] * k[2]
        s = [(s[d] - 1) * layer["stride"][d] + k[d] for d in range(3)]
        in_c = layer["out"]
    return macs


def share(total, rank, world):
    """Rank's part of `total` items split as evenly as possible."""
    return total // world + (1 if rank < total % world else 0)


def summary(times):
    """Statistics of a list of epoch times in ms."""
    q = statistics.quantiles(times, n=4, method="inclusive") if len(times) > 1 else [times[0]] * 3
    return {"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times),
            "mean_ms": statistics.fmean(times), "stdev_ms": statistics.stdev(times) if len(times) > 1 else 0.0,
            "q1_ms": q[0], "q3_ms": q[2], "iqr_ms": q[2] - q[0]}


BOILERPLATE = ("Set TORCHDYNAMO_VERBOSE", "For even more developer context", "You can suppress this exception",
               "To execute this test", "from user code", "-- Process")


def skip_reason(e):
    """One line saying why a variant could not run: the exception's first line (for a worker
    process's failure, the last line of its traceback), without torch's advice lines."""
    lines = [l.strip() for l in str(e).splitlines() if l.strip() and not l.strip().startswith(BOILERPLATE)]
    if not lines:
        return type(e).__name__
    if type(e).__name__ == "ProcessRaisedException":  # the worker's traceback: its last line names the error
        return lines[-1][:300]
    return ("%s: %s" % (type(e).__name__, lines[0]))[:300]


class Bench:
    def __init__(self, cfg, device, rank=0, world=1):
        m = cfg.get("model", {})
        self.arch = R.preset_architecture(m.get("preset", "seed"), cfg.get("n_channels", 1), m.get("dropout", 0.5))
        a = self.arch
        self.notes = ["config %s=%s, preset %s uses %s" % (k, cfg[k], a["preset"], a[k])
                      for k in ("seqlen", "height", "width") if k in cfg and cfg[k] != a[k]]
        cl = cfg.get("contrastive_loss", {})
        self.device = device
        self.rank, self.world = rank, world
        self.n_train, self.n_val = cfg.get("batch_size_train", 100), cfg.get("batch_size_val", 8)
        self.m_train, self.m_val = cl.get("n_outliers", 0), cl.get("n_outliers_val", 0)
        # This process's share of each part of the batch (all of it with one process).
        self.local = {k: share(v, rank, world) for k, v in
                      (("n_train", self.n_train), ("m_train", self.m_train), ("n_val", self.n_val),
                       ("m_val", self.m_val))}
        self.dtheta, self.dtheta_def = cfg.get("dtheta", 2.0), cl.get("dtheta", 2.1)
        self.lr = cfg.get("learning_rate", 5e-4)
        self.loss_type = cfg.get("loss_type", "mse")
        self.image = R.test_image(a["height"], a["width"]).to(device)
        self.gen = torch.Generator().manual_seed(rank)
        self.macs = forward_macs_per_sample(a)
        # 2 FLOP per MAC; training step ~ 3 x forward (forward + input and weight gradients).
        self.flop_per_epoch = 2.0 * self.macs * (3.0 * (self.n_train + self.m_train) + self.n_val + self.m_val)

    def batch(self, n, m):
        parts = []
        if n:
            parts.append(R.make_sequences(self.image, n, self.arch["seqlen"], self.dtheta, self.gen))
        if m:
            parts.append(R.make_sequences(self.image, m, self.arch["seqlen"], self.dtheta_def, self.gen))
        x = torch.cat(parts)
        return x.expand(-1, self.arch["in_channels"], -1, -1, -1).contiguous()

    def gather(self, lat, n, grad):
        """All ranks' latents: (normal, defect) rows in rank order."""
        import torch.distributed as dist
        if grad:
            import torch.distributed.nn.functional as dnn
            parts = dnn.all_gather(lat)
        else:
            parts = [torch.empty_like(lat) for _ in range(self.world)]
            dist.all_gather(parts, lat)
        key_n, key_m = ("n_train", "m_train") if grad else ("n_val", "m_val")
        normal, defect = [], []
        for r, p in enumerate(parts):
            nr = share(getattr(self, key_n), r, self.world)
            normal.append(p[:nr])
            defect.append(p[nr:])
        return torch.cat(normal), torch.cat(defect)

    def losses(self, model, x, n, m, autocast, train):
        with autocast():
            rec, lat = model(x)
        rec, lat = rec.float(), lat.float().flatten(1)
        loss = R.recovery_loss(rec[:n], x[:n], self.loss_type)
        if self.world > 1:
            normal, defect = self.gather(lat, n, grad=train)
        else:
            normal, defect = lat[:n], lat[n:]
        if len(defect) and len(normal) > 1:
            lc = R.contrastive_loss(normal, defect)
        else:
            lc = torch.zeros((), device=x.device)
        return loss, lc

    def run(self, variant, epochs, warmup):
        dev = self.device
        if variant not in KNOWN_VARIANTS:
            return {"skipped": "unknown variant (known: %s)" % ", ".join(KNOWN_VARIANTS)}
        if variant.endswith("tf32") and dev.type != "cuda":
            return {"skipped": "tf32 is cuda-only"}
        compiled = variant.startswith("compile")
        if compiled and not hasattr(torch, "compile"):
            return {"skipped": "torch %s has no torch.compile" % torch.__version__}
        if compiled:
            warmup = max(warmup, 1)
        set_tf32(variant.endswith("tf32"))
        bf16 = variant.endswith("bf16")
        if bf16:
            autocast = lambda: torch.autocast(dev.type, dtype=torch.bfloat16)
        else:
            autocast = contextlib.nullcontext
        torch.manual_seed(0)
        model = R.build_model(self.arch).to(dev)
        net = model
        if self.world > 1:
            # The input batch norm keeps per-rank statistics: no buffer broadcast each step
            # (forward_sync_buffers in newer torch, broadcast_buffers before).
            import inspect
            DDP = torch.nn.parallel.DistributedDataParallel
            no_sync = ({"forward_sync_buffers": False} if "forward_sync_buffers" in inspect.signature(DDP).parameters
                       else {"broadcast_buffers": False})
            net = DDP(model, **no_sync)
        opt = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=1e-8)
        if compiled:
            torch._dynamo.reset()
            # One static graph per batch shape (train, validation) and mode.
            net = torch.compile(net, dynamic=False)
        L = self.local
        times, warm = [], []
        vals = []
        try:
            for ep in range(warmup + epochs):
                if ep == warmup and self.world > 1:
                    import torch.distributed as dist
                    dist.barrier()  # the timed epochs start together
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                model.train()
                x = self.batch(L["n_train"], L["m_train"])
                loss, lc = self.losses(net, x, L["n_train"], L["m_train"], autocast, True)
                opt.zero_grad(set_to_none=True)
                (loss + lc).backward()
                opt.step()
                model.eval()
                with torch.no_grad():
                    xv = self.batch(L["n_val"], L["m_val"])
                    lv, lcv = self.losses(net, xv, L["n_val"], L["m_val"], autocast, False)
                vals = [loss.item(), lc.item(), lv.item(), lcv.item()]
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                (times if ep >= warmup else warm).append((time.perf_counter() - t0) * 1e3)
        except Exception as e:  # e.g. no bf16 kernels or no compiler on this machine
            if self.world > 1:
                raise  # the launcher reports it; the other ranks are ended
            return {"skipped": skip_reason(e)}
        r = summary(times)
        r.update({"epochs": epochs, "warmup": warmup, "warmup_s": sum(warm) / 1e3,
                  "first_epoch_ms": (warm or times)[0], "last_losses": vals,
                  "gflops": self.flop_per_epoch / (r["median_ms"] * 1e-3) / 1e9})
        if compiled:
            r["compile_s"] = max(0.0, (sum(warm) - warmup * r["median_ms"]) / 1e3)
        return r


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank, world, port, cfg, variant, epochs, warmup, threads, out_path, timeout_s):
    import datetime
    import warnings
    import torch.distributed as dist
    warnings.filterwarnings("ignore", category=FutureWarning)  # deprecation notes, once per rank and variant
    torch.set_num_threads(threads)
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%d" % port, rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=timeout_s))
    try:
        bench = Bench(cfg, torch.device("cpu"), rank, world)
        r = bench.run(variant, epochs, warmup)
        dist.barrier()
        if rank == 0:
            with open(out_path + ".tmp", "w") as f:
                json.dump(r, f)
            os.replace(out_path + ".tmp", out_path)
    finally:
        dist.destroy_process_group()


def run_ddp(cfg, variant, epochs, warmup, procs, threads, timeout_s):
    """One variant in `procs` fresh processes; rank 0's result, or skipped with the reason."""
    import torch.multiprocessing as mp
    os.environ["OMP_NUM_THREADS"] = str(threads)   # inherited by the spawned processes
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    # A gloo process can abort in the group's teardown, after rank 0 has written its figures
    # (seen on an overloaded 2-core machine: SIGABRT of rank 1). Those figures stand; a run
    # that died before them is tried once more before the variant is reported as skipped.
    failure = None
    for attempt in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            out_path = os.path.join(tmp, "rank0.json")
            try:
                mp.spawn(_ddp_worker, args=(procs, free_port(), cfg, variant, epochs, warmup, threads, out_path,
                                            timeout_s), nprocs=procs, join=True)
            except Exception as e:
                failure = e
                print(f"bench_reference.py: {variant}, {procs} processes, attempt {attempt}: {skip_reason(e)}",
                      file=sys.stderr)
            if os.path.exists(out_path):
                with open(out_path) as f:
                    return json.load(f)
    return {"skipped": skip_reason(failure or RuntimeError("rank 0 wrote no figures")) + " (twice)"}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--variants", default=None,
                   help="comma-separated (default: %s on cpu, %s on cuda)" % (CPU_VARIANTS, CUDA_VARIANTS))
    p.add_argument("--epochs", type=int, default=10, help="timed epochs")
    p.add_argument("--warmup", type=int, default=3, help="untimed epochs first (at least 1 for compile-*)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads per process (default: torch's, i.e. OMP_NUM_THREADS; 1 with --procs > 1)")
    p.add_argument("--procs", type=int, default=1, help="data-parallel processes (CPU, gloo; default 1)")
    p.add_argument("--dist-timeout", type=int, default=900, help="seconds a collective may wait (--procs > 1)")
    p.add_argument("--compile-cache", choices=("fresh", "keep"), default="fresh",
                   help="inductor's on-disk cache: an empty temporary one (default) or the usual one")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args()
    if args.compile_cache == "fresh":
        import atexit
        import shutil
        cache = tempfile.mkdtemp(prefix="cdae-inductor-")
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache  # read when compiling; inherited by --procs workers
        atexit.register(shutil.rmtree, cache, True)
    if args.epochs < 1 or args.warmup < 0 or args.procs < 1:
        p.error("--epochs >= 1, --warmup >= 0, --procs >= 1")
    with open(args.config) as f:
        cfg = json.load(f)
    dev = torch.device(args.device)
    if args.procs > 1 and dev.type != "cpu":
        p.error("--procs > 1 is the CPU data-parallel mode (gloo)")
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    threads = args.threads or (1 if args.procs > 1 else torch.get_num_threads())
    if args.procs == 1 and args.threads:
        torch.set_num_threads(args.threads)
    variants = [s for s in (args.variants or (CUDA_VARIANTS if dev.type == "cuda" else CPU_VARIANTS)).split(",") if s]
    bench = Bench(cfg, dev)
    if dev.type == "cuda":
        name = torch.cuda.get_device_name(dev)
    elif args.procs > 1:
        name = "cpu (%d processes x %d threads, gloo)" % (args.procs, threads)
    else:
        name = "cpu (%d threads)" % torch.get_num_threads()
    result = {"torch": torch.__version__, "device": name, "preset": bench.arch["preset"],
              "batch_train": [bench.n_train, bench.m_train], "batch_val": [bench.n_val, bench.m_val],
              "procs": args.procs, "threads": threads,
              "parameters": R.n_parameters(R.build_model(bench.arch)),
              "gflop_per_epoch": bench.flop_per_epoch / 1e9,
              "cpu_capability": torch.backends.cpu.get_cpu_capability(), "compile_cache": args.compile_cache,
              "variants": {}}
    out = sys.stderr if args.json else sys.stdout
    for n in bench.notes:
        print("note: " + n, file=out)
    if not args.json:
        print("torch %s on %s, preset %s, train %d+%d, val %d+%d, %.4f TFLOP/epoch" % (
            torch.__version__, name, bench.arch["preset"], bench.n_train, bench.m_train, bench.n_val, bench.m_val,
            bench.flop_per_epoch / 1e12))
    for v in variants:
        if args.procs > 1:
            r = run_ddp(cfg, v, args.epochs, args.warmup, args.procs, threads, args.dist_timeout)
        else:
            r = bench.run(v, args.epochs, args.warmup)
        result["variants"][v] = r
        if "skipped" in r:
            print("note: %-13s skipped: %s" % (v, r["skipped"]), file=out)
        elif not args.json:
            extra = ", compile %.1f s" % r["compile_s"] if "compile_s" in r else ""
            print("%-13s %9.1f ms/epoch (median of %d; min %.1f, max %.1f, IQR %.1f; %.1f GFLOP/s; "
                  "warm-up %d epochs %.1f s%s)"
                  % (v, r["median_ms"], r["epochs"], r["min_ms"], r["max_ms"], r["iqr_ms"], r["gflops"],
                     r["warmup"], r["warmup_s"], extra))
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
