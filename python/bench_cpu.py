#!/usr/bin/env python3
"""Driver of scripts/bench_cpu.sh (mode "table") and scripts/bench_scaling.sh (mode "scaling").

  bench_cpu.py table   [--quick] [OUT]     # cdae against PyTorch eager and torch.compile, fp32 and bf16
  bench_cpu.py scaling [--quick] [OUT]     # cdae's ms/epoch against batch size and frame size

Everything runs one after the other in this shell, nothing in parallel. Settings
come from the environment (see scripts/bench_cpu.sh and scripts/bench_scaling.sh
for the list); each run's full output is kept in OUT/logs/.

table: first the GEMM peak (python/gemm_peak.py, 1 thread: fp32 and bf16 torch.mm,
the LibTorch CPU kernels cdae links), then per config and per layout "R x T" (R
ranks or processes, T threads each): cdae-bench (under mpirun for R > 1) and
python/bench_reference.py variants eager and torch.compile (R > 1: R gloo DDP
processes), at fp32 and bf16. Writes OUT/bench_cpu.tsv, OUT/bench_cpu.json and
OUT/bench_cpu.md (the Markdown table, also printed at the end).

scaling: cdae-bench at one layout (default 2 x 1), ms/epoch against the training
batch (the config's defect count kept fixed, the rest normal sequences) and
against the frame size (per preset, only sizes its layers reproduce exactly).
Writes OUT/bench_scaling.tsv and OUT/bench_scaling.md.
"""
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)


def env(name, default=None):
    v = os.environ.get(name)
    return default if v is None or v == "" else v


def config_key(path):
    base = os.path.splitext(os.path.basename(path))[0]
    return {"smoke": "SMOKE", "cpu-contrastive": "CPU", "seed": "SEED"}.get(base, re.sub(r"\W", "_", base).upper())


def fmt_s(s):
    s = max(0, int(round(s)))
    return "%d:%02d:%02d" % (s // 3600, s % 3600 // 60, s % 60) if s >= 3600 else "%d:%02d" % (s // 60, s % 60)


def cpu_info():
    flags, model = set(), "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
                elif line.startswith("model name") and model == "unknown CPU":
                    model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return {"model": model, "cores": os.cpu_count() or 1, "avx2": "avx2" in flags, "avx512f": "avx512f" in flags,
            "bf16_hw": bool(flags & {"avx512_bf16", "amx_bf16"})}


def mem_available_gb():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024 ** 2
    except OSError:
        pass
    return float("inf")


def git_version():
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + ("+local changes" if dirty else "") if rev else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


class Config:
    """A config file and what the plan needs from it (the FLOP count as cdae-bench computes it)."""

    def __init__(self, path, overrides=None):
        import bench_reference as BR
        import cdae_reference as R
        self.path = path
        self.key = config_key(path)
        self.name = os.path.splitext(os.path.basename(path))[0]
        with open(os.path.join(ROOT, path) if not os.path.isabs(path) else path) as f:
            cfg = json.load(f)
        self.overrides = dict(overrides or {})
        cl = cfg.get("contrastive_loss", {})
        get = lambda k, d: self.overrides.get(k, d)
        self.preset = cfg.get("model", {}).get("preset", "seed")
        self.n_train = int(get("batch_size_train", cfg.get("batch_size_train", 100)))
        self.m_train = int(get("contrastive_loss.n_outliers", cl.get("n_outliers", 0)))
        self.n_val = int(get("batch_size_val", cfg.get("batch_size_val", 8)))
        self.m_val = int(get("contrastive_loss.n_outliers_val", cl.get("n_outliers_val", 0)))
        arch = R.preset_architecture(self.preset, cfg.get("n_channels", 1))
        self.frames = int(get("height", cfg.get("height", arch["height"])))
        arch["height"] = arch["width"] = self.frames
        arch["seqlen"] = int(cfg.get("seqlen", arch["seqlen"]))
        self.macs = BR.forward_macs_per_sample(arch)
        self.gflop = 2.0 * self.macs * (3.0 * (self.n_train + self.m_train) + self.n_val + self.m_val) / 1e9

    def set_args(self):
        out = []
        for k, v in self.overrides.items():
            out += ["--set", "%s=%s" % (k, v)]
        return out

    def memory_gb(self):
        """Host memory a training step of the seed preset needs (all ranks together): measured on
        cdae-bench and bench_reference.py, 1.5 GB + 0.16 GB per training sequence; None elsewhere."""
        return 1.5 + 0.16 * (self.n_train + self.m_train) if self.preset == "seed" else None


class Runner:
    """Runs the planned commands one after the other with progress lines and an ETA."""

    def __init__(self, out, plan):
        self.out, self.plan = out, plan
        self.logs = os.path.join(out, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.t_start = time.time()
        self.est_done = 0.0
        self.real_done = 0.0

    def eta(self, index):
        left = sum(p["est_s"] for p in self.plan[index:])
        scale = self.real_done / self.est_done if self.est_done > 0 else 1.0
        return left * min(max(scale, 0.2), 5.0)

    def run(self, index, label, cmd, env_add, est_s, timeout_s, log_name):
        n = len(self.plan)
        print("[%2d/%d] %-58s est %s | elapsed %s, ETA %s" % (
            index + 1, n, label, fmt_s(est_s), fmt_s(time.time() - self.t_start), fmt_s(self.eta(index))),
            flush=True)
        log = os.path.join(self.logs, log_name)
        e = dict(os.environ)
        e.update(env_add)
        t0 = time.time()
        status, text = "ok", ""
        with open(log, "w") as lf:
            lf.write("$ %s %s\n" % (" ".join("%s=%s" % kv for kv in env_add.items()), " ".join(map(shlex.quote, cmd))))
            lf.flush()
            p = subprocess.Popen(cmd, cwd=ROOT, env=e, stdout=subprocess.PIPE, stderr=lf, text=True,
                                 start_new_session=True)
            try:
                text, _ = p.communicate(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                text, _ = p.communicate()
                status = "timeout after %d s" % timeout_s
            lf.write("--- stdout ---\n" + (text or ""))
            if status == "ok" and p.returncode != 0:
                status = "failed (exit %d, see %s)" % (p.returncode, os.path.relpath(log, ROOT))
        took = time.time() - t0
        self.est_done += est_s
        self.real_done += took
        j = None
        for line in reversed((text or "").splitlines()):
            if line.startswith("{"):
                try:
                    j = json.loads(line)
                except ValueError:
                    pass
                break
        if j is None and status == "ok":
            status = "failed (no JSON line, see %s)" % os.path.relpath(log, ROOT)
        return status, j, took


# ----------------------------------------------------------------------------- the table
def gemm_peak(py, quick, runner_out):
    """1-thread GEMM peak (best GFLOP/s) per dtype, and 2 threads fp32 for the record."""
    n = env("GEMM_N", "512" if quick else "4096")
    reps = env("GEMM_REPS", "2" if quick else "10")
    max_s = env("GEMM_MAX_S", "5" if quick else "60")
    res = {}
    for threads, dtypes in ((1, "fp32,bf16"), (2, "fp32")):
        if threads > 1 and (os.cpu_count() or 1) < threads:
            continue
        cmd = [py, "python/gemm_peak.py", "--n", n, "--reps", reps, "--threads", str(threads), "--dtypes", dtypes,
               "--max-seconds", max_s, "--json"]
        print("== GEMM peak, %d thread(s): %s" % (threads, " ".join(cmd[1:])), flush=True)
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                           env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
        with open(os.path.join(runner_out, "logs", "gemm_%dt.log" % threads), "w") as f:
            f.write(p.stdout + p.stderr)
        try:
            j = json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            print("   GEMM failed: " + (p.stderr.strip().splitlines() or ["?"])[-1])
            continue
        for d, r in j["dtypes"].items():
            res["%s_%dt" % (d, threads)] = r
            if "skipped" in r:
                print("   %s: skipped: %s" % (d, r["skipped"]))
            else:
                print("   %s %dx%d: best %.1f GFLOP/s, median %.1f%s" % (
                    d, r["n"], r["n"], r["best_gflops"], r["median_gflops"],
                    "" if r["n"] == r.get("n_requested", r["n"]) else " (n reduced: slow kernel)"))
        res["cpu_capability"] = j.get("cpu_capability")
    return res


def peak_for(gemm, precision, cores):
    """The row's ceiling: the 1-thread GEMM best x cores used; for bf16 the faster of the bf16
    and fp32 GEMMs (on a CPU without bf16 instructions bf16 work is best done in fp32)."""
    fp32 = gemm.get("fp32_1t", {}).get("best_gflops")
    best = fp32
    if precision == "bf16":
        bf = gemm.get("bf16_1t", {}).get("best_gflops")
        best = max(x for x in (fp32, bf) if x) if (fp32 or bf) else None
    return best * cores if best else None


def table(args, quick):
    out = os.path.abspath(args[0] if args else env("OUT", "bench_out"))
    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
    py = env("CDAE_PYTHON", sys.executable)
    bench = os.path.join(env("CDAE_BIN", os.path.join(ROOT, "build")), "cdae-bench")
    if not os.access(bench, os.X_OK):
        sys.exit("bench_cpu: no %s (build first, or set CDAE_BIN)" % bench)
    cpu = cpu_info()
    configs = env("CONFIGS", "configs/smoke.json" if quick else
                  "configs/smoke.json configs/cpu-contrastive.json configs/seed.json").split()
    default_epochs = {"SMOKE": 20, "CPU": 10, "SEED": 1}
    default_warmup = {"SMOKE": 3, "CPU": 2, "SEED": 0}

    dry = env("DRY_RUN", "0") == "1"
    rounds = env("ROUNDS", "1")
    if not rounds.isdigit() or int(rounds) < 1:
        sys.exit("bench_cpu: ROUNDS=%s: expected a whole number of rounds, at least 1" % rounds)
    rounds = int(rounds)
    gemm = gemm_peak(py, quick, out) if env("GEMM", "1") != "0" and not dry else {}
    fp32_peak = gemm.get("fp32_1t", {}).get("best_gflops") or 90.0
    # Planning figures only (for the ETA and the timeouts): ~28% of the GEMM peak per core, as
    # measured for both sides on the seed config; bf16 without bf16 instructions ~7x slower.
    rate_core = 0.28 * fp32_peak

    plan = []
    notes = []
    for path in configs:
        c = Config(path)
        k = c.key
        epochs = int(env("EPOCHS_" + k, env("EPOCHS", "1" if quick else default_epochs.get(k, 5))))
        warmup = int(env("WARMUP_" + k, env("WARMUP", "0" if quick else default_warmup.get(k, 1))))
        layouts = env("LAYOUTS_" + k, env("LAYOUTS", "1x1 2x1" if k == "SEED" else "1x1 2x1 1x2")).split()
        precisions = env("PRECISIONS_" + k, env("PRECISIONS"))
        if precisions is None:
            precisions = "fp32 bf16"
            if not cpu["bf16_hw"] and c.gflop > 100:
                precisions = "fp32"
                notes.append("%s: bf16 left out (no AVX-512 BF16 / AMX on this CPU: bf16 kernels fall back to "
                             "slow paths, a %s epoch would take hours; PRECISIONS_%s='fp32 bf16' forces it)"
                             % (c.name, c.name, k))
        precisions = precisions.split()
        pt = env("PT_VARIANTS_" + k, env("PT_VARIANTS", "eager" if quick else "eager compile")).split()
        need = c.memory_gb()
        if need and mem_available_gb() < need and env("FORCE_MEMORY", "0") != "1":
            notes.append("%s: left out: needs ~%.0f GB of host memory, %.1f GB available (FORCE_MEMORY=1 runs it)"
                         % (c.name, need, mem_available_gb()))
            continue
        for layout in layouts:
            ranks, threads = (int(x) for x in layout.lower().split("x"))
            cores = ranks * threads
            eff = 1.0 if cores == 1 else (0.95 * cores if threads == 1 else 0.7 * cores)
            for prec in precisions:
                if threads > 1 and prec != "fp32" and env("ALL_1X2", "0") != "1":
                    continue  # R x T with T > 1: fp32 only (cdae and eager), unless ALL_1X2=1
                slow = 1.0 if prec == "fp32" else (0.7 if cpu["bf16_hw"] else 7.0)
                epoch_s = c.gflop / (rate_core * eff) * slow + 0.1
                sides = [("cdae", "cdae")] + [("pytorch", v) for v in pt]
                # Rounds interleave the sides (cdae, eager, compile, cdae, ...) so that a slow spell of
                # the machine falls on both sides' rounds rather than on one side's only run.
                for side, variant, rnd in [(s, v, r) for r in range(1, rounds + 1) for s, v in sides]:
                    if threads > 1 and variant == "compile" and env("ALL_1X2", "0") != "1":
                        continue
                    compile_s = 40.0 if variant == "compile" else 0.0
                    w = max(warmup, 1) if variant == "compile" else warmup
                    start_s = 3.0 + (6.0 if side == "pytorch" and ranks > 1 else 0.0)
                    est = start_s + compile_s + (w + epochs) * epoch_s
                    plan.append({"config": c, "side": side, "variant": variant, "precision": prec,
                                 "ranks": ranks, "threads": threads, "epochs": epochs, "warmup": warmup,
                                 "round": rnd, "est_s": est})
    print("== %s, %d cores%s%s; torch GEMM %s; git %s" % (
        cpu["model"], cpu["cores"], ", AVX-512" if cpu["avx512f"] else (", AVX2" if cpu["avx2"] else ""),
        ", bf16 instructions" if cpu["bf16_hw"] else ", no bf16 instructions",
        gemm.get("cpu_capability", "?"), git_version()))
    for n in notes:
        print("note: " + n)
    print("== %d runs planned%s, about %s in all (planning estimate: %.0f GFLOP/s per core)" % (
        len(plan), " (%d rounds)" % rounds if rounds > 1 else "", fmt_s(sum(p["est_s"] for p in plan)),
        rate_core), flush=True)

    if dry:
        for p in plan:
            print("   %-10s %-8s %-8s %-5s %dx%d  %d+%d epochs  round %d  est %s" % (
                p["config"].name, p["side"], p["variant"], p["precision"], p["ranks"], p["threads"], p["warmup"],
                p["epochs"], p["round"], fmt_s(p["est_s"])))
        return 0
    runner = Runner(out, plan)
    runs = []
    for i, p in enumerate(plan):
        c = p["config"]
        layout = "%dx%d" % (p["ranks"], p["threads"])
        threads_env = {"OMP_NUM_THREADS": str(p["threads"]), "OMPI_ALLOW_RUN_AS_ROOT": "1",
                       "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
        if p["side"] == "cdae":
            cmd = [bench, "--config", c.path] + c.set_args() + ["--epochs", str(p["epochs"]),
                                                                 "--warmup", str(p["warmup"]), "--json"]
            if p["precision"] != "fp32":
                cmd += ["--set", "precision=" + p["precision"]]
            if p["ranks"] > 1:
                cmd = ["mpirun", "--oversubscribe", "--bind-to", "none", "-np", str(p["ranks"])] + cmd
            label = "%s cdae %s %s" % (c.name, p["precision"], layout)
            label += ", round %d" % p["round"] if rounds > 1 else ""
        else:
            v = "compile-" + p["precision"] if p["variant"] == "compile" else p["precision"]
            if p["variant"] == "eager_thp":  # LibTorch's own switch, which cdae sets for itself
                threads_env["THP_MEM_ALLOC_ENABLE"] = "1"
            cmd = [py, "python/bench_reference.py", "--config", c.path, "--device", "cpu", "--variants", v,
                   "--epochs", str(p["epochs"]), "--warmup", str(p["warmup"]), "--threads", str(p["threads"]),
                   "--json"]
            if p["ranks"] > 1:
                cmd += ["--procs", str(p["ranks"])]
            label = "%s PyTorch %s %s %s" % (c.name, p["variant"], p["precision"], layout)
            label += ", round %d" % p["round"] if rounds > 1 else ""
        timeout = int(env("RUN_TIMEOUT", str(int(600 + 4 * p["est_s"]))))
        log_name = "%02d_%s_%s_%s_%s_%s%s.log" % (i + 1, c.name, p["side"], p["variant"], p["precision"], layout,
                                                  "_round%d" % p["round"] if rounds > 1 else "")
        status, j, took = runner.run(i, label, cmd, threads_env, p["est_s"], timeout, log_name)
        row = {"config": c.name, "side": p["side"], "variant": p["variant"], "precision": p["precision"],
               "ranks": p["ranks"], "threads": p["threads"], "epochs": p["epochs"], "warmup": p["warmup"],
               "round": p["round"], "gflop_per_epoch": c.gflop, "wall_s": took, "status": status}
        if status == "ok" and p["side"] == "cdae":
            row.update(ms_median=j["ms_per_epoch_median"], ms_min=j["ms_per_epoch_min"],
                       ms_max=j["ms_per_epoch_max"], gflop_per_epoch=1e3 * j["tflop_per_epoch"],
                       peak_memory_mb=j.get("peak_memory_mb"), hours_20000=j.get("hours_for_20000_epochs"),
                       split_ms=j.get("split_ms"))
            if abs(row["gflop_per_epoch"] - c.gflop) > 1e-3 * c.gflop:
                print("   note: cdae-bench counts %.4f GFLOP/epoch, bench_reference.py %.4f"
                      % (row["gflop_per_epoch"], c.gflop))
        elif status == "ok":
            r = j["variants"][list(j["variants"])[0]]
            if "skipped" in r:
                row["status"] = "skipped: " + r["skipped"]
            else:
                row.update(ms_median=r["median_ms"], ms_min=r["min_ms"], ms_max=r["max_ms"], ms_iqr=r["iqr_ms"],
                           ms_stdev=r["stdev_ms"], compile_s=r.get("compile_s"), warmup_s=r.get("warmup_s"),
                           hours_20000=r["median_ms"] * 20000 / 3.6e6)
        if "ms_median" in row:
            row["gflops"] = row["gflop_per_epoch"] / (row["ms_median"] * 1e-3)  # write_table adds the peak's share
            print("   -> %.1f ms/epoch (min %.1f, max %.1f), %.1f GFLOP/s%s; %s" % (
                row["ms_median"], row["ms_min"], row["ms_max"], row["gflops"],
                ", compile %.0f s" % row["compile_s"] if row.get("compile_s") is not None else "", fmt_s(took)),
                flush=True)
        else:
            print("   -> " + row["status"], flush=True)
        runs.append(row)
        write_table(out, runs, gemm, cpu, notes)  # after every run: a partial table survives an interruption
    md = write_table(out, runs, gemm, cpu, notes)
    print("\n" + md)
    print("table: %s/bench_cpu.tsv, %s/bench_cpu.md, %s/bench_cpu.json; logs in %s/logs (%s in all)"
          % (out, out, out, out, fmt_s(time.time() - runner.t_start)))
    return 0


ROW_KEY = ("config", "side", "variant", "precision", "ranks", "threads")


def combine_rounds(runs):
    """One row per (config, side, variant, precision, layout) from its rounds' runs, in first-run order.
    A single round is its run. Several: ms_median is the median of the rounds' medians (min and max over
    all their epochs), round_medians_ms lists them; compile_s and hours_20000 follow the median, memory the
    largest; the row is "ok" only if every round was (else the first other status, with the count)."""
    groups = {}
    for r in runs:
        groups.setdefault(tuple(r[k] for k in ROW_KEY), []).append(r)
    rows = []
    for group in groups.values():
        if len(group) == 1:
            rows.append(dict(group[0], rounds=1))
            continue
        ok = [r for r in group if "ms_median" in r]
        row = {k: group[0][k] for k in ROW_KEY + ("epochs", "warmup", "gflop_per_epoch")}
        row.update(rounds=len(group), wall_s=sum(r["wall_s"] for r in group))
        bad = [r["status"] for r in group if "ms_median" not in r]
        row["status"] = "ok" if not bad else "%s (%d of %d rounds)" % (bad[0], len(bad), len(group))
        if ok:
            meds = [r["ms_median"] for r in ok]
            row.update(ms_median=statistics.median(meds), ms_min=min(r["ms_min"] for r in ok),
                       ms_max=max(r["ms_max"] for r in ok), round_medians_ms=meds,
                       gflop_per_epoch=ok[0]["gflop_per_epoch"])
            row["hours_20000"] = row["ms_median"] * 20000 / 3.6e6
            for k in ("compile_s", "ms_iqr"):
                vals = [r[k] for r in ok if r.get(k) is not None]
                if vals:
                    row[k] = statistics.median(vals)
            mem = [r["peak_memory_mb"] for r in ok if r.get("peak_memory_mb") is not None]
            if mem:
                row["peak_memory_mb"] = max(mem)
        rows.append(row)
    return rows


def round_ratios(runs, row):
    """A cdae row's speed against the fastest plain PyTorch variant of each round (the same comparison
    one round makes), for the rounds where both were measured."""
    out = []
    same = lambda r: all(r[k] == row[k] for k in ("config", "precision", "ranks", "threads"))
    for rnd in sorted({r["round"] for r in runs if same(r)}):
        here = [r for r in runs if same(r) and r["round"] == rnd and "ms_median" in r]
        ours = [r for r in here if r["side"] == "cdae"]
        theirs = [r for r in here if r["side"] == "pytorch" and r["variant"] != "eager_thp"]
        if ours and theirs:
            out.append(min(r["ms_median"] for r in theirs) / ours[0]["ms_median"])
    return out


def add_ratios(rows):
    """Per (config, precision, layout): the fastest PyTorch variant as users run it, and each row's speed
    against it; eager_thp (opt-in: eager with LibTorch's huge-page switch, which cdae sets for itself)
    is left out of that and gets its own ratio, vs_pytorch_thp."""
    for r in rows:
        same = [x for x in rows if x["side"] == "pytorch" and "ms_median" in x and x["config"] == r["config"]
                and x["precision"] == r["precision"] and x["ranks"] == r["ranks"] and x["threads"] == r["threads"]]
        if not same or "ms_median" not in r:
            continue
        plain = [x for x in same if x["variant"] != "eager_thp"] or same
        best = min(plain, key=lambda x: x["ms_median"])
        r["fastest_pytorch"] = best["variant"]
        r["vs_fastest_pytorch"] = best["ms_median"] / r["ms_median"]
        thp = [x for x in same if x["variant"] == "eager_thp"]
        if thp:
            r["vs_pytorch_thp"] = thp[0]["ms_median"] / r["ms_median"]


TSV_COLUMNS = ["config", "side", "variant", "precision", "ranks", "threads", "epochs", "warmup", "ms_median",
               "ms_min", "ms_max", "ms_iqr", "compile_s", "gflop_per_epoch", "gflops", "pct_of_gemm_peak",
               "fastest_pytorch", "vs_fastest_pytorch", "vs_pytorch_thp", "hours_20000", "peak_memory_mb", "wall_s",
               "rounds", "round_medians_ms", "round_ratios", "status"]


def cell(v, digits=1):
    if v is None:
        return ""
    if isinstance(v, float):
        return "%.*f" % (digits, v)
    if isinstance(v, list):
        return " ".join(cell(x, digits) for x in v)
    return str(v)


def write_table(out, runs, gemm, cpu, notes):
    """The table of the runs so far: bench_cpu.tsv (a row per config, side, precision and layout, rounds
    combined), bench_cpu.json (those rows and every run) and bench_cpu.md; returns the Markdown."""
    rows = combine_rounds(runs)
    add_ratios(rows)
    for r in rows:
        if "ms_median" in r:
            r["gflops"] = r["gflop_per_epoch"] / (r["ms_median"] * 1e-3)
            peak = peak_for(gemm, r["precision"], r["ranks"] * r["threads"])
            r["pct_of_gemm_peak"] = 100.0 * r["gflops"] / peak if peak else None
        if r["side"] == "cdae" and r["rounds"] > 1:
            r["round_ratios"] = round_ratios(runs, r)
    with open(os.path.join(out, "bench_cpu.tsv"), "w") as f:
        f.write("\t".join(TSV_COLUMNS) + "\n")
        for r in rows:
            f.write("\t".join(cell(r.get(k), 4 if k == "gflop_per_epoch" else 2 if "ratio" in k or k.startswith("vs_")
                                   else 1) for k in TSV_COLUMNS) + "\n")
    with open(os.path.join(out, "bench_cpu.json"), "w") as f:
        json.dump({"cpu": cpu, "gemm": gemm, "notes": notes, "git": git_version(), "rows": rows, "runs": runs}, f,
                  indent=1)
    lines = []
    g32 = gemm.get("fp32_1t", {}).get("best_gflops")
    g16 = gemm.get("bf16_1t", {}).get("best_gflops")
    lines.append("GEMM peak, 1 thread (torch.mm, best of the products): fp32 %s GFLOP/s, bf16 %s GFLOP/s%s."
                 % (cell(g32), cell(g16), "; 2 threads fp32 %s" % cell(gemm["fp32_2t"]["best_gflops"])
                    if gemm.get("fp32_2t", {}).get("best_gflops") else ""))
    lines.append("")
    lines.append("| config | side | precision | ranks x threads | ms/epoch median (min-max) | IQR ms | compile s "
                 "| vs fastest PyTorch, same precision and cores | GFLOP/s | % of GEMM peak |")
    lines.append("|---|---|---|---|---:|---:|---:|---:|---:|---:|")
    prev = None
    for r in rows:
        name = {"cdae": "cdae", "eager": "PyTorch eager", "compile": "PyTorch torch.compile",
                "eager_thp": "PyTorch eager, THP_MEM_ALLOC_ENABLE=1"}[r["variant"]]
        cfg = r["config"] if r["config"] != prev else ""
        prev = r["config"]
        layout = "%d x %d" % (r["ranks"], r["threads"])
        if "ms_median" not in r:
            lines.append("| %s | %s | %s | %s | %s | | | | | |" % (cfg, name, r["precision"], layout,
                                                                  r["status"].replace("|", "\\|")))
            continue
        ratio = ""
        if "vs_fastest_pytorch" in r:
            ratio = "%.2fx" % r["vs_fastest_pytorch"]
            if r["side"] == "cdae":
                ratio = "**%s** (vs %s)" % (ratio, r["fastest_pytorch"])
                if r.get("round_ratios"):
                    ratio += "; by round " + ", ".join("%.2fx" % x for x in r["round_ratios"])
                if "vs_pytorch_thp" in r:
                    ratio += "; %.2fx vs eager with THP" % r["vs_pytorch_thp"]
        ms = "%.1f (%.1f-%.1f)" % (r["ms_median"], r["ms_min"], r["ms_max"])
        if r["rounds"] > 1:
            ms += "; rounds " + " / ".join("%.1f" % x for x in r["round_medians_ms"])
        if r["status"] != "ok":  # some rounds failed: the figures are the others'
            ms += "; " + r["status"].replace("|", "\\|")
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %.1f | %s |" % (
            cfg, name, r["precision"], layout, ms, cell(r.get("ms_iqr")),
            cell(r.get("compile_s"), 0), ratio, r["gflops"], cell(r.get("pct_of_gemm_peak"))))
    most = max((r["rounds"] for r in rows), default=1)
    if most > 1:
        lines.append("")
        lines.append("%d rounds, the sides interleaved in each: a row's median is the median of its rounds' medians "
                     "(listed after it), min and max are over all its epochs; the ratio is taken from those medians, "
                     "and \"by round\" gives each round's own ratio against that round's fastest PyTorch." % most)
    proj = [r for r in rows if r.get("hours_20000") and r["config"] == "seed" and r["ranks"] > 1]
    if proj:
        lines.append("")
        lines.append("20000 epochs of the seed config at the measured median: " + "; ".join(
            "%s %s %d x %d %.1f h" % (r["variant"], r["precision"], r["ranks"], r["threads"], r["hours_20000"])
            for r in proj) + ".")
    for n in notes:
        lines.append("")
        lines.append("Note: " + n)
    md = "\n".join(lines) + "\n"
    with open(os.path.join(out, "bench_cpu.md"), "w") as f:
        f.write(md)
    return md


# --------------------------------------------------------------------------- the scaling sweep
def scaling(args, quick):
    out = os.path.abspath(args[0] if args else env("OUT", "bench_out"))
    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
    bench = os.path.join(env("CDAE_BIN", os.path.join(ROOT, "build")), "cdae-bench")
    if not os.access(bench, os.X_OK):
        sys.exit("bench_scaling: no %s (build first, or set CDAE_BIN)" % bench)
    epochs = int(env("EPOCHS", "1" if quick else "10"))
    warmup = int(env("WARMUP", "0" if quick else "2"))
    layout = env("LAYOUT", "2x1")
    ranks, threads = (int(x) for x in layout.lower().split("x"))
    precision = env("PRECISION", "fp32")
    batch_config = env("BATCH_CONFIG", "configs/cpu-contrastive.json")
    batches = [int(b) for b in env("BATCHES", "16 32" if quick else "16 32 64 108").split()]
    frames = env("FRAMES", "configs/smoke.json:37,53" if quick else
                 "configs/smoke.json:37,53,101 configs/cpu-contrastive.json:33,49,97").split()
    plan = []
    base = Config(batch_config)
    for b in batches:
        m = base.m_train
        if b - m < 2:
            sys.exit("bench_scaling: batch %d leaves fewer than 2 normal sequences next to %d defects" % (b, m))
        plan.append(("batch", Config(batch_config, {"batch_size_train": b - m})))
    for spec in frames:
        path, sizes = spec.split(":")
        for s in sizes.split(","):
            plan.append(("frames", Config(path, {"height": int(s), "width": int(s)})))
    items = []
    for sweep, c in plan:
        est = 3.0 + (epochs + warmup) * (c.gflop / (25.0 * (0.95 * ranks if threads == 1 else 0.7 * ranks * threads))
                                         + 0.1)
        items.append({"sweep": sweep, "config": c, "est_s": est})
    print("== cdae-bench %s, %d ranks x %d threads, %d timed epochs after %d warm-up; %d runs, about %s"
          % (precision, ranks, threads, epochs, warmup, len(items), fmt_s(sum(i["est_s"] for i in items))),
          flush=True)
    runner = Runner(out, items)
    rows = []
    for i, it in enumerate(items):
        c = it["config"]
        cmd = [bench, "--config", c.path] + c.set_args() + ["--set", "precision=" + precision,
                                                             "--epochs", str(epochs), "--warmup", str(warmup), "--json"]
        if ranks > 1:
            cmd = ["mpirun", "--oversubscribe", "--bind-to", "none", "-np", str(ranks)] + cmd
        label = "%s: %s (%s) %dx%d, train %d+%d" % (it["sweep"], c.name, c.preset, c.frames, c.frames,
                                                    c.n_train, c.m_train)
        status, j, took = runner.run(i, label, cmd, {"OMP_NUM_THREADS": str(threads), "OMPI_ALLOW_RUN_AS_ROOT": "1",
                                                     "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"},
                                     it["est_s"], int(env("RUN_TIMEOUT", str(int(600 + 4 * it["est_s"])))),
                                     "scaling_%02d_%s_%s_%d_%d.log" % (i + 1, it["sweep"], c.name, c.frames,
                                                                       c.n_train + c.m_train))
        row = {"sweep": it["sweep"], "config": c.name, "preset": c.preset, "frames": c.frames,
               "train": c.n_train + c.m_train, "train_split": "%d+%d" % (c.n_train, c.m_train),
               "val": "%d+%d" % (c.n_val, c.m_val), "status": status}
        if status == "ok":
            row.update(ms_median=j["ms_per_epoch_median"], ms_min=j["ms_per_epoch_min"], ms_max=j["ms_per_epoch_max"],
                       gflop_per_epoch=1e3 * j["tflop_per_epoch"], gflops=1e3 * j["tflops"],
                       peak_memory_mb=j.get("peak_memory_mb"))
            print("   -> %.1f ms/epoch (min %.1f, max %.1f), %.1f GFLOP/s" % (
                row["ms_median"], row["ms_min"], row["ms_max"], row["gflops"]), flush=True)
        else:
            print("   -> " + status, flush=True)
        rows.append(row)
    # Growth against the first row of the same sweep and config.
    for r in rows:
        first = next((x for x in rows if x["sweep"] == r["sweep"] and x["config"] == r["config"] and "ms_median" in x),
                     None)
        if first and "ms_median" in r:
            r["time_x"] = r["ms_median"] / first["ms_median"]
            r["flop_x"] = r["gflop_per_epoch"] / first["gflop_per_epoch"]
            r["ms_per_train_seq"] = r["ms_median"] / r["train"]
    cols = ["sweep", "config", "preset", "frames", "train", "train_split", "val", "ms_median", "ms_min", "ms_max",
            "gflop_per_epoch", "gflops", "ms_per_train_seq", "time_x", "flop_x", "peak_memory_mb", "status"]
    with open(os.path.join(out, "bench_scaling.tsv"), "w") as f:
        f.write("\t".join(cols) + "\n")
        for r in rows:
            f.write("\t".join(cell(r.get(k), 4 if k == "gflop_per_epoch" else 2 if k.endswith("_x") else 1)
                              for k in cols) + "\n")
    lines = ["cdae-bench, %s, %d ranks x %d threads, median of %d epochs after %d warm-up." % (
        precision, ranks, threads, epochs, warmup), "",
        "| sweep | config (preset) | frames | train batch (normal+defects) | val batch | ms/epoch median (min-max) "
        "| ms per training sequence | GFLOP/epoch | GFLOP/s | time x | FLOP x |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        head = "| %s | %s (%s) | %d | %d (%s) | %s |" % (r["sweep"], r["config"], r["preset"], r["frames"], r["train"],
                                                        r["train_split"], r["val"])
        if "ms_median" not in r:
            lines.append(head + " %s | | | | | |" % r["status"].replace("|", "\\|"))
        else:
            lines.append(head + " %.1f (%.1f-%.1f) | %.2f | %.3f | %.1f | %.2f | %.2f |" % (
                r["ms_median"], r["ms_min"], r["ms_max"], r["ms_per_train_seq"], r["gflop_per_epoch"], r["gflops"],
                r["time_x"], r["flop_x"]))
    md = "\n".join(lines) + "\n"
    with open(os.path.join(out, "bench_scaling.md"), "w") as f:
        f.write(md)
    print("\n" + md)
    print("table: %s/bench_scaling.tsv, %s/bench_scaling.md (%s in all)" % (out, out,
                                                                           fmt_s(time.time() - runner.t_start)))
    return 0


def main(argv):
    if not argv or argv[0] not in ("table", "scaling"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, rest = argv[0], argv[1:]
    quick = env("QUICK", "0") == "1"
    if "--quick" in rest:
        quick = True
        rest = [a for a in rest if a != "--quick"]
    return table(rest, quick) if mode == "table" else scaling(rest, quick)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
