#!/usr/bin/env python3
"""Compare cdae-infer's output with the PyTorch reference on the same checkpoint and input.

  check_against_cdae.py --checkpoint CKPT.h5 --input IN.h5 --dataset NAME --cdae-output OUT.h5 [--tol 1e-5]
      exit 1 when a relative error (max|a-b| / max|b|, b = reference) exceeds --tol
  check_against_cdae.py --make-input IN.h5 --checkpoint CKPT.h5 [--n 6]
      writes "sequences" (uint8, (N,T,H,W)) and "sequences_f32" (float32, (N,C,T,H,W))
"""
import argparse
import json
import os
import sys

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdae_reference as R  # noqa: E402


def make_input(path, arch, n):
    g = torch.Generator().manual_seed(1234)
    c, t, h, w = arch["in_channels"], arch["seqlen"], arch["height"], arch["width"]
    img = R.test_image(h, w, seed=7)
    u8 = (R.make_sequences(img, n * c, t, 2.0, g)[:, 0] * 255).round().to(torch.uint8)
    u8 = u8.reshape(n, c, t, h, w).numpy()
    if c == 1:
        u8 = u8[:, 0]
    # the float input is not quantised and uses other angles, to exercise the float path
    f32 = R.rotate_sequences(img / 255.0, torch.rand(n * c, t, generator=g, dtype=torch.float64) * 360)
    f32 = f32.reshape(n, c, t, h, w).float().numpy()
    with h5py.File(path, "w") as f:
        f["sequences"] = u8
        f["sequences_f32"] = f32
    print("wrote %s: sequences %s uint8, sequences_f32 %s float32" % (path, u8.shape, f32.shape))


def read_input(path, name):
    with h5py.File(path, "r") as f:
        a = f[name][()]
    x = torch.from_numpy(a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32))
    return x[:, None] if x.dim() == 4 else x


def rel_err(a, b):
    """max|a-b| / max|b| (absolute when b is all zero)."""
    scale = np.abs(b).max()
    return float(np.abs(a - b).max() / (scale if scale > 0 else 1.0))


def check(args):
    model, arch, config = R.load_checkpoint(args.checkpoint)
    loss_type = args.loss_type or config.get("inference", {}).get("loss_type", "mse")
    x = read_input(args.input, args.dataset)
    with torch.no_grad():
        rec, lat = model(x)
        loss = R.per_sample_loss(rec, x, loss_type)
    ref = {"reconstructions": rec.numpy(), "latents": lat.reshape(len(x), -1).numpy(),
           "losses": loss.double().numpy()}
    with h5py.File(args.cdae_output, "r") as f:
        got = {k: f[k][()] for k in ref}
    ok = True
    for k in ("reconstructions", "latents", "losses"):
        if got[k].shape != ref[k].shape:
            print("%-16s shape mismatch: cdae %s reference %s" % (k, got[k].shape, ref[k].shape))
            ok = False
            continue
        if k == "losses":  # per-sample relative error
            e = float(np.max(np.abs(got[k] - ref[k]) / np.maximum(np.abs(ref[k]), 1e-30)))
        else:
            e = rel_err(got[k].astype(np.float64), ref[k].astype(np.float64))
        print("%-16s shape %-22s max|ref| %.4e  max rel err %.3e  %s"
              % (k, got[k].shape, np.abs(ref[k]).max(), e, "ok" if e <= args.tol else "FAIL"))
        ok &= e <= args.tol
    if np.abs(ref["reconstructions"]).max() == 0:
        print("warning: the reference reconstructions are all zero; the comparison is weak")
    print("losses (reference):", np.array2string(ref["losses"][:8], precision=5))
    print("losses (cdae)     :", np.array2string(got["losses"][:8], precision=5))
    print("PASS" if ok else "FAIL", "(tol %g)" % args.tol)
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--input")
    p.add_argument("--dataset", default="sequences")
    p.add_argument("--cdae-output")
    p.add_argument("--tol", type=float, default=1e-5)
    p.add_argument("--loss-type", choices=("mse", "max"),
                   help="default: the checkpoint config's inference.loss_type, else mse")
    p.add_argument("--make-input", metavar="IN.h5")
    p.add_argument("--n", type=int, default=6)
    args = p.parse_args()
    if args.make_input:
        with h5py.File(args.checkpoint, "r") as f:
            arch = json.loads(R._attr_text(f.attrs["architecture"]))
        make_input(args.make_input, arch, args.n)
        return 0
    if not (args.input and args.cdae_output):
        p.error("--input and --cdae-output are required (or --make-input)")
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
