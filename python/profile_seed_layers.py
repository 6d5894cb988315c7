#!/usr/bin/env python3
"""Per-layer time of the seed model's convolutions on the CPU, forward and each
backward product apart, in the forms a lever could choose: where an epoch's time
goes, and how far each product is from the machine's GEMM peak.

  python3 python/profile_seed_layers.py [--batch N] [--repeats R] [--threads T]
                                        [--peak GFLOPS] [--layers conv1,conv2,...]

Layers of the seed preset (101x101 frames, 21 per sequence; SEED-MODEL.md), at
--batch sequences (default 8; an epoch at 2 ranks x 1 thread runs 54 training
and 5 validation sequences per rank):
  conv1    Conv3d 1 -> 128, 1x13x13, stride (1,2,2)    (N,1,21,101,101) -> (N,128,21,45,45)
  conv2    Conv3d 128 -> 64, 5x5x5, stride (3,2,2)     -> (N,64,6,21,21)
  conv3    Conv3d 64 -> 64, 5x11x11, stride 2          -> (N,64,1,6,6)
  deconv1  ConvTranspose3d 64 -> 64, 5x11x11, stride 2 -> (N,64,5,21,21)
  deconv2  ConvTranspose3d 64 -> 128, 5x5x5, stride (4,2,2) -> (N,128,21,45,45)
  deconv3  ConvTranspose3d 128 -> 1, 1x13x13, stride (1,2,2) -> (N,1,21,101,101)
(the ConvLSTMs run on 1x6x6 latents: under 0.1% of the multiply-adds.)

Products, each timed alone (median of --repeats after one warm-up):
  fwd      the layer's output
  dgrad    the gradient of its input (not for conv1: the data needs none)
  wgrad    the gradient of its weight
Forms:
  ncdhw         PyTorch's default layout, the oneDNN convolution (cdae's conv3d, and
                its transposed convolutions as the adjoint of a convolution)
  channels_last channels_last_3d input, weight and gradients (oneDNN's nDHWc path)
  frames2d      (conv1, deconv3) the one-frame layer as conv2d over N x 21 frames (cdae's
                frame_convs=conv2d)
  frame_gemm    (conv1, deconv3) cdae's frame_convs=gemm layers (the default): conv1's forward
                by conv2d over frames, its wgrad a batched GEMM with the frames' patches;
                deconv3 a batched GEMM + fold, its "bwd" (dgrad + wgrad, autograd's) timed
                as forward + backward minus the forward
  im2col        (conv1-3, fwd and wgrad) an explicit im2col copy and one GEMM, the copy
                timed with each product: the form a hand-written layer would take
GFLOP/s counts 2 FLOP per multiply-add of the product; "% peak" is against --peak
(default: measured here with a 2048^3 torch.mm at the same threads).
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F

LAYERS = {  # name: (transposed, in, out, kernel, stride, input T/H/W)
    "conv1": (False, 1, 128, (1, 13, 13), (1, 2, 2), (21, 101, 101)),
    "conv2": (False, 128, 64, (5, 5, 5), (3, 2, 2), (21, 45, 45)),
    "conv3": (False, 64, 64, (5, 11, 11), (2, 2, 2), (6, 21, 21)),
    "deconv1": (True, 64, 64, (5, 11, 11), (2, 2, 2), (1, 6, 6)),
    "deconv2": (True, 64, 128, (5, 5, 5), (4, 2, 2), (5, 21, 21)),
    "deconv3": (True, 128, 1, (1, 13, 13), (1, 2, 2), (21, 45, 45)),
}


def gemm_peak(threads):
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    for _ in range(2):
        torch.mm(a, b)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t0)
    return 2 * 2048**3 / min(times) / 1e9


def timed(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def conv_products(x, w, stride, transposed, fmt=torch.contiguous_format):
    """fwd, dgrad, wgrad of y = conv(x, w) (transposed: y = conv^T(x, w)) through
    aten.convolution_backward, as cdae calls them."""
    zeros, ones = [0, 0, 0], [1, 1, 1]
    if not transposed:
        y = F.conv3d(x, w, None, stride)
        fwd = lambda: F.conv3d(x, w, None, stride)
        dgrad = lambda: torch.ops.aten.convolution_backward(y, x, w, None, stride, zeros, ones, False, zeros, 1,
                                                            [True, False, False])
        wgrad = lambda: torch.ops.aten.convolution_backward(y, x, w, None, stride, zeros, ones, False, zeros, 1,
                                                            [False, True, False])
        return fwd, dgrad, wgrad
    # Transposed: the adjoint of conv3d(., w) whose input has y's shape (cdae's ConvTranspose3dByConvKernels).
    out = [x.size(0), w.size(1)] + [(x.size(2 + d) - 1) * stride[d] + w.size(2 + d) for d in range(3)]
    shape_only = torch.empty(out, memory_format=fmt)
    fwd = lambda: torch.ops.aten.convolution_backward(x, shape_only, w, None, stride, zeros, ones, False, zeros, 1,
                                                      [True, False, False])[0]
    y = fwd()
    dgrad = lambda: F.conv3d(y, w, None, stride)
    wgrad = lambda: torch.ops.aten.convolution_backward(x, y, w, None, stride, zeros, ones, False, zeros, 1,
                                                        [False, True, False])
    return fwd, dgrad, wgrad


def frames2d_products(x, w, stride, transposed):
    """The one-frame layer as a 2-D convolution over N x T frames."""
    n, t = x.size(0), x.size(2)
    x2 = x.transpose(1, 2).reshape(n * t, x.size(1), x.size(3), x.size(4)).contiguous()
    w2 = w[:, :, 0].contiguous()
    s2, zeros, ones = list(stride[1:]), [0, 0], [1, 1]
    if not transposed:
        y2 = F.conv2d(x2, w2, None, s2)
        return (lambda: F.conv2d(x2, w2, None, s2), None,
                lambda: torch.ops.aten.convolution_backward(y2, x2, w2, None, s2, zeros, ones, False, zeros, 1,
                                                            [False, True, False]))
    y2 = F.conv_transpose2d(x2, w2, None, s2)
    return (lambda: F.conv_transpose2d(x2, w2, None, s2), lambda: F.conv2d(y2, w2, None, s2),
            lambda: torch.ops.aten.convolution_backward(x2, y2, w2, None, s2, zeros, ones, False, zeros, 1,
                                                        [False, True, False]))


def im2col_products(x, w, stride):
    """A (non-transposed) convolution as an explicit im2col copy and one GEMM: what a
    hand-written layer form would cost. fwd and wgrad each include the im2col copy
    (no (N x positions, C x kernel) matrix is kept between them); dgrad would need a
    col2im scatter and is not timed."""
    k = w.shape[2:]

    def cols():
        u = x.unfold(2, k[0], stride[0]).unfold(3, k[1], stride[1]).unfold(4, k[2], stride[2])
        # (N, C, T', H', W', kT, kH, kW) -> (N T' H' W', C kT kH kW)
        return u.permute(0, 2, 3, 4, 1, 5, 6, 7).reshape(-1, w[0].numel())

    w2 = w.reshape(w.size(0), -1)
    grad_y = torch.randn(cols().size(0), w.size(0))
    return lambda: torch.mm(cols(), w2.t()), None, lambda: torch.mm(grad_y.t(), cols())


def frames_of(x):
    return x.permute(0, 2, 1, 3, 4).reshape(x.size(0) * x.size(2), x.size(1), x.size(3), x.size(4))


def frame_gemm_products(x, w, stride, transposed):
    """cdae's frame_convs=gemm layers (src/model/frame_conv.cpp). conv1: the forward is
    conv2d over the N x T frames, the weight gradient one batched GEMM of the output
    gradient with the frames' patches (unfold), summed over the frames. deconv3: the
    forward is one batched GEMM per frame, (out kh kw, C) x (C, H W), then fold; autograd
    gives its backward. Returns fwd and bwd; bwd = every gradient the layer gives in
    training (conv1: the weight's; deconv3: input and weight, from one backward call)."""
    n, t = x.size(0), x.size(2)
    k, s = tuple(w.shape[3:]), tuple(stride[1:])
    if not transposed:
        f = frames_of(x).contiguous()
        w2 = w[:, :, 0]
        y = F.conv2d(f, w2, None, s)
        g = torch.randn_like(y)

        def wgrad():
            cols = F.unfold(f, k, stride=s)  # (N T, C kh kw, L)
            return torch.bmm(g.view(g.size(0), g.size(1), -1), cols.transpose(1, 2)).sum(0)
        return (lambda: F.conv2d(f, w2, None, s).view(n, t, *y.shape[1:]).transpose(1, 2)), wgrad

    w = w.detach().requires_grad_()
    xi = x.detach().requires_grad_()

    def forward():
        h, wd = xi.shape[3:]
        frames = frames_of(xi).reshape(n * t, xi.size(1), h * wd)
        wt = w.view(w.size(0), -1).t()
        patches = torch.bmm(wt.expand(n * t, *wt.shape), frames)  # (N T, out kh kw, H W)
        out = ((h - 1) * s[0] + k[0], (wd - 1) * s[1] + k[1])
        return F.fold(patches, out, k, stride=s).view(n, t, w.size(1), *out).transpose(1, 2)

    y = forward()
    grad = torch.randn_like(y)
    return forward, lambda: forward().backward(grad)


def macs(name, batch):
    transposed, cin, cout, k, s, thw = LAYERS[name]
    kvol = k[0] * k[1] * k[2]
    if transposed:
        return batch * thw[0] * thw[1] * thw[2] * cin * cout * kvol
    out = [(thw[d] - k[d]) // s[d] + 1 for d in range(3)]
    return batch * out[0] * out[1] * out[2] * cin * cout * kvol


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=8, help="sequences per call (default 8)")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per product, after one warm-up (default 3)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--peak", type=float, default=None, help="GEMM peak GFLOP/s (default: measured here)")
    p.add_argument("--layers", default=",".join(LAYERS), help="comma-separated subset of " + ",".join(LAYERS))
    p.add_argument("--check", action="store_true",
                   help="before timing, check that every form's forward equals the ncdhw one (relative 1e-4)")
    p.add_argument("--forms", default="ncdhw,channels_last,frames2d,frame_gemm,im2col", help="comma-separated forms to time")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    peak = args.peak or gemm_peak(args.threads)
    print(f"# PyTorch {torch.__version__}, {args.threads} thread(s), batch {args.batch}, "
          f"GEMM peak {peak:.1f} GFLOP/s; ms per call, median of {args.repeats}")
    print("| layer | form | product | ms | ms per sequence | GFLOP/s | % peak |")
    print("|---|---|---|---:|---:|---:|---:|")
    forms = args.forms.split(",")
    total = {}
    for name in args.layers.split(","):
        transposed, cin, cout, k, s, thw = LAYERS[name]
        x = torch.randn(args.batch, cin, *thw)
        w = torch.randn(cin, cout, *k) * 0.01 if transposed else torch.randn(cout, cin, *k) * 0.01
        flop = 2.0 * macs(name, args.batch)
        reference = None
        for form in forms:
            if form == "frames2d":
                if k[0] != 1:
                    continue
                products = frames2d_products(x, w, s, transposed)
            elif form == "frame_gemm":
                if k[0] != 1:
                    continue
                fwd, second = frame_gemm_products(x, w, s, transposed)
                if args.check and reference is not None:
                    err = float((fwd().detach() - reference).abs().max() / reference.abs().max())
                    if err > 1e-4:
                        raise SystemExit(f"profile_seed_layers.py: {name} {form}: forward differs from the first "
                                         f"form by {err:.2e} (relative)")
                    print(f"# {name} {form}: forward checked against {forms[0]} (max relative difference {err:.1e})")
                t_fwd, t_second = timed(fwd, args.repeats), timed(second, args.repeats)
                # conv1: the second product is the weight gradient alone; deconv3: forward + backward.
                t_bwd, bwd_name = (t_second - t_fwd, "bwd") if transposed else (t_second, "wgrad")
                for product, seconds, f in (("fwd", t_fwd, flop), (bwd_name, t_bwd, flop * (2 if transposed else 1))):
                    print(f"| {name} | {form} | {product} | {seconds * 1e3:.1f} | {seconds * 1e3 / args.batch:.2f} | "
                          f"{f / seconds / 1e9:.1f} | {100 * f / seconds / 1e9 / peak:.0f} |", flush=True)
                continue
            elif form == "im2col":
                if transposed:
                    continue
                products = im2col_products(x, w, s)
            elif form == "channels_last":
                cl = torch.channels_last_3d
                products = conv_products(x.contiguous(memory_format=cl), w.contiguous(memory_format=cl), s,
                                         transposed, cl)
            else:
                products = conv_products(x, w, s, transposed)
            if args.check:
                y = products[0]()
                if form == "frames2d":
                    y = y.view(args.batch, thw[0], *y.shape[1:]).transpose(1, 2)
                elif form == "im2col":
                    y = y.view(args.batch, *[(thw[d] - k[d]) // s[d] + 1 for d in range(3)], -1).permute(0, 4, 1, 2, 3)
                reference = y if reference is None else reference
                err = float((y - reference).abs().max() / reference.abs().max())
                if err > 1e-4:
                    raise SystemExit(f"profile_seed_layers.py: {name} {form}: forward differs from the first form "
                                     f"by {err:.2e} (relative)")
                print(f"# {name} {form}: forward checked against {forms[0]} (max relative difference {err:.1e})")
            for product, fn in zip(("fwd", "dgrad", "wgrad"), products):
                if fn is None or (name == "conv1" and product == "dgrad"):
                    continue
                seconds = timed(fn, args.repeats)
                if form in ("ncdhw", "channels_last"):  # these time every product of every layer
                    total[form] = total.get(form, 0.0) + seconds
                print(f"| {name} | {form} | {product} | {seconds * 1e3:.1f} | {seconds * 1e3 / args.batch:.2f} | "
                      f"{flop / seconds / 1e9:.1f} | {100 * flop / seconds / 1e9 / peak:.0f} |", flush=True)
    for form, seconds in total.items():
        print(f"# {form}: {seconds * 1e3 / args.batch:.1f} ms per sequence, every product of the layers timed")


if __name__ == "__main__":
    main()
