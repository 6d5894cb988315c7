#!/usr/bin/env python3
"""PyTorch side of the speed benchmark: ms per epoch of the reference model.

  bench_reference.py --config CFG.json [--device cpu|cuda] [--variants fp32,tf32,bf16,compile-bf16]
                     [--epochs K] [--warmup W] [--json]

One epoch = a batch generated on the device (one image rotated with grid_sample),
one training step on batch_size_train normal + contrastive_loss.n_outliers defects
(recovery + contrastive loss, Adam lr = learning_rate, weight_decay 1e-8), then one
validation forward in eval mode on batch_size_val + n_outliers_val. Losses are read
back each epoch (.item()), as a training loop printing its line would.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdae_reference as R  # noqa: E402


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


class Bench:
    def __init__(self, cfg, device):
        m = cfg.get("model", {})
        self.arch = R.preset_architecture(m.get("preset", "seed"), cfg.get("n_channels", 1), m.get("dropout", 0.5))
        a = self.arch
        for k in ("seqlen", "height", "width"):
            if k in cfg and cfg[k] != a[k]:
                print("note: config %s=%s, preset %s uses %s" % (k, cfg[k], a["preset"], a[k]))
        cl = cfg.get("contrastive_loss", {})
        self.device = device
        self.n_train, self.n_val = cfg.get("batch_size_train", 100), cfg.get("batch_size_val", 8)
        self.m_train, self.m_val = cl.get("n_outliers", 0), cl.get("n_outliers_val", 0)
        self.dtheta, self.dtheta_def = cfg.get("dtheta", 2.0), cl.get("dtheta", 2.1)
        self.lr = cfg.get("learning_rate", 5e-4)
        self.loss_type = cfg.get("loss_type", "mse")
        self.image = R.test_image(a["height"], a["width"]).to(device)
        self.gen = torch.Generator().manual_seed(0)

    def batch(self, n, m):
        parts = [R.make_sequences(self.image, n, self.arch["seqlen"], self.dtheta, self.gen)]
        if m:
            parts.append(R.make_sequences(self.image, m, self.arch["seqlen"], self.dtheta_def, self.gen))
        x = torch.cat(parts)
        return x.expand(-1, self.arch["in_channels"], -1, -1, -1).contiguous()

    def losses(self, model, x, n, m, autocast):
        with autocast():
            rec, lat = model(x)
        rec, lat = rec.float(), lat.float().flatten(1)
        loss = R.recovery_loss(rec[:n], x[:n], self.loss_type)
        lc = R.contrastive_loss(lat[:n], lat[n:]) if m and n > 1 else torch.zeros((), device=x.device)
        return loss, lc

    def run(self, variant, epochs, warmup):
        dev = self.device
        if variant == "tf32" and dev.type != "cuda":
            return {"skipped": "tf32 is cuda-only"}
        if variant == "compile-bf16" and not hasattr(torch, "compile"):
            return {"skipped": "torch %s has no torch.compile" % torch.__version__}
        set_tf32(variant == "tf32")
        bf16 = variant.endswith("bf16")
        if bf16:
            autocast = lambda: torch.autocast(dev.type, dtype=torch.bfloat16)
        else:
            import contextlib
            autocast = contextlib.nullcontext
        torch.manual_seed(0)
        model = R.build_model(self.arch).to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=1e-8)
        net = torch.compile(model) if variant.startswith("compile") else model
        times = []
        try:
            for ep in range(warmup + epochs):
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                model.train()
                x = self.batch(self.n_train, self.m_train)
                loss, lc = self.losses(net, x, self.n_train, self.m_train, autocast)
                opt.zero_grad(set_to_none=True)
                (loss + lc).backward()
                opt.step()
                model.eval()
                with torch.no_grad():
                    xv = self.batch(self.n_val, self.m_val)
                    lv, lcv = self.losses(net, xv, self.n_val, self.m_val, autocast)
                vals = [loss.item(), lc.item(), lv.item(), lcv.item()]
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                if ep >= warmup:
                    times.append((time.perf_counter() - t0) * 1e3)
        except Exception as e:  # e.g. no bf16 kernels or no compiler on this machine
            return {"skipped": "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")}
        return {"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times),
                "epochs": epochs, "last_losses": vals}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--variants", default="fp32,tf32,bf16,compile-bf16")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args()
    with open(args.config) as f:
        cfg = json.load(f)
    dev = torch.device(args.device)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    bench = Bench(cfg, dev)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu (%d threads)" % torch.get_num_threads()
    result = {"torch": torch.__version__, "device": name, "preset": bench.arch["preset"],
              "batch_train": [bench.n_train, bench.m_train], "batch_val": [bench.n_val, bench.m_val],
              "variants": {}}
    if not args.json:
        print("torch %s on %s, preset %s, train %d+%d, val %d+%d" % (
            torch.__version__, name, bench.arch["preset"], bench.n_train, bench.m_train, bench.n_val, bench.m_val))
    for v in [s for s in args.variants.split(",") if s]:
        r = bench.run(v, args.epochs, args.warmup)
        result["variants"][v] = r
        if "skipped" in r:
            print("note: %-13s skipped: %s" % (v, r["skipped"]), file=sys.stderr if args.json else sys.stdout)
        elif not args.json:
            print("%-13s %9.1f ms/epoch (median of %d; min %.1f, max %.1f)"
                  % (v, r["median_ms"], r["epochs"], r["min_ms"], r["max_ms"]))
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
