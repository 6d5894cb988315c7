#!/usr/bin/env python3
"""PyTorch reference of the cdae model, data and losses (see shared SEED-MODEL.md).

Importable module:
  build_model(arch)            -> CDAE (state_dict names as the reference / cdae checkpoints)
  load_checkpoint(path)        -> (model, architecture, config) from a cdae HDF5 checkpoint
  preset_architecture(name)    -> architecture dict of a preset ("seed", "small")
  rotate_sequences(img, ang)   -> OpenCV warpAffine(getRotationMatrix2D) rotations
  per_sample_loss, recovery_loss, contrastive_loss
CLI: `cdae_reference.py CKPT.h5` prints the architecture and parameter count.
Version-neutral: runs on torch 1.13 and 2.x.
"""
import copy
import json
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

# Preset tables. The C++ src/model/architecture.cpp is the source of truth; keep in sync.
# lstm_norm "layer": GroupNorm(1, C) in front of every ConvLSTM (norm_1..3);
# output "sigmoid" instead of the reference's final ReLU.
PRESETS = {
    "seed": {
        "preset": "seed", "in_channels": 1, "seqlen": 21, "height": 101, "width": 101,
        "dropout": 0.5, "lstm_norm": "none", "output": "relu",
        "encoder": [{"out": 128, "kernel": [1, 13, 13], "stride": [1, 2, 2]},
                    {"out": 64, "kernel": [5, 5, 5], "stride": [3, 2, 2]},
                    {"out": 64, "kernel": [5, 11, 11], "stride": [2, 2, 2]}],
        "lstm": [64, 32, 64],
        "decoder": [{"out": 64, "kernel": [5, 11, 11], "stride": [2, 2, 2]},
                    {"out": 128, "kernel": [5, 5, 5], "stride": [4, 2, 2]},
                    {"out": 1, "kernel": [1, 13, 13], "stride": [1, 2, 2]}],
    },
    "small": {
        "preset": "small", "in_channels": 1, "seqlen": 21, "height": 37, "width": 37,
        "dropout": 0.5, "lstm_norm": "layer", "output": "sigmoid",
        "encoder": [{"out": 8, "kernel": [1, 5, 5], "stride": [1, 2, 2]},
                    {"out": 8, "kernel": [5, 5, 5], "stride": [3, 2, 2]},
                    {"out": 8, "kernel": [5, 5, 5], "stride": [2, 2, 2]}],
        "lstm": [8, 4, 8],
        "decoder": [{"out": 8, "kernel": [5, 5, 5], "stride": [2, 2, 2]},
                    {"out": 8, "kernel": [5, 5, 5], "stride": [4, 2, 2]},
                    {"out": 1, "kernel": [1, 5, 5], "stride": [1, 2, 2]}],
    },
}


PRESETS["cpu"] = {
    "preset": "cpu", "in_channels": 1, "seqlen": 21, "height": 49, "width": 49,
    "dropout": 0.5, "lstm_norm": "layer", "output": "sigmoid",
    "encoder": [{"out": 16, "kernel": [1, 5, 5], "stride": [1, 2, 2]},
                {"out": 32, "kernel": [5, 5, 5], "stride": [3, 2, 2]},
                {"out": 32, "kernel": [5, 4, 4], "stride": [2, 2, 2]}],
    "lstm": [32, 16, 32],
    "decoder": [{"out": 32, "kernel": [5, 4, 4], "stride": [2, 2, 2]},
                {"out": 16, "kernel": [5, 5, 5], "stride": [4, 2, 2]},
                {"out": 1, "kernel": [1, 5, 5], "stride": [1, 2, 2]}],
}


def preset_architecture(name="seed", in_channels=1, dropout=0.5):
    arch = copy.deepcopy(PRESETS[name])
    arch["in_channels"] = in_channels
    arch["decoder"][-1]["out"] = in_channels
    arch["dropout"] = dropout
    return arch


# ----------------------------------------------------------------------------- model
class ConvLSTMCell(nn.Module):
    def __init__(self, in_ch, hidden):
        super().__init__()
        self.hidden = hidden
        self.conv = nn.Conv2d(in_ch + hidden, 4 * hidden, 3, padding=1, bias=True)

    def forward(self, x, h, c):
        i, f, o, g = torch.split(self.conv(torch.cat([x, h], dim=1)), self.hidden, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


class ConvLSTM(nn.Module):
    """One layer; input and output (N, T, C, H, W); h, c start at zero."""

    def __init__(self, in_ch, hidden):
        super().__init__()
        self.cell_list = nn.ModuleList([ConvLSTMCell(in_ch, hidden)])

    def forward(self, x):
        cell = self.cell_list[0]
        n, t, _, hh, ww = x.shape
        h = x.new_zeros(n, cell.hidden, hh, ww)
        c = torch.zeros_like(h)
        out = []
        for k in range(t):
            h, c = cell(x[:, k], h, c)
            out.append(h)
        return torch.stack(out, dim=1)


class TemporalEncoderDecoder(nn.Module):
    def __init__(self, in_ch, lstm, layer_norms=False):
        super().__init__()
        self.layer_norms = layer_norms
        if layer_norms:
            self.norm_1 = nn.GroupNorm(1, in_ch)
        self.convlstm_1 = ConvLSTM(in_ch, lstm[0])
        if layer_norms:
            self.norm_2 = nn.GroupNorm(1, lstm[0])
        self.convlstm_2 = ConvLSTM(lstm[0], lstm[1])
        if layer_norms:
            self.norm_3 = nn.GroupNorm(1, lstm[1])
        self.convlstm_3 = ConvLSTM(lstm[1], lstm[2])

    def _norm(self, k, x):
        if not self.layer_norms:
            return x
        n, t = x.shape[:2]
        return getattr(self, "norm_%d" % k)(x.flatten(0, 1)).unflatten(0, (n, t))

    def forward(self, x):
        latent = self.convlstm_2(self._norm(2, self.convlstm_1(self._norm(1, x))))
        return self.convlstm_3(self._norm(3, latent)), latent


class CDAE(nn.Module):
    """forward(x: (N,C,T,H,W)) -> (reconstruction (N,C,T,H,W), latent (N,T',C',H',W'))."""

    def __init__(self, arch):
        super().__init__()
        c = arch["in_channels"]
        e, d = arch["encoder"], arch["decoder"]
        conv = lambda i, l: nn.Conv3d(i, l["out"], tuple(l["kernel"]), tuple(l["stride"]))
        deconv = lambda i, l: nn.ConvTranspose3d(i, l["out"], tuple(l["kernel"]), tuple(l["stride"]))
        self.spatial_encoder = nn.Sequential(
            nn.BatchNorm3d(c),
            conv(c, e[0]), nn.ReLU(), nn.Dropout(arch.get("dropout", 0.5)),
            conv(e[0]["out"], e[1]), nn.ReLU(),
            conv(e[1]["out"], e[2]), nn.ReLU())
        self.temporal_encoder_decoder = TemporalEncoderDecoder(
            e[2]["out"], arch["lstm"], arch.get("lstm_norm", "none") == "layer")
        self.spatial_decoder = nn.Sequential(
            deconv(arch["lstm"][2], d[0]), nn.ReLU(),
            deconv(d[0]["out"], d[1]), nn.ReLU(),
            deconv(d[1]["out"], d[2]),
            nn.Sigmoid() if arch.get("output", "relu") == "sigmoid" else nn.ReLU())

    def forward(self, x):
        z = self.spatial_encoder(x).permute(0, 2, 1, 3, 4)        # (N,T,C,H,W)
        z, latent = self.temporal_encoder_decoder(z)
        return self.spatial_decoder(z.permute(0, 2, 1, 3, 4)), latent


def build_model(arch):
    return CDAE(arch)


def n_parameters(model):
    return sum(p.numel() for p in model.parameters())


def _attr_text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def load_checkpoint(path, map_location="cpu"):
    """cdae HDF5 checkpoint -> (model in eval mode, architecture dict, config dict)."""
    import h5py
    import numpy as np
    with h5py.File(path, "r") as f:
        arch = json.loads(_attr_text(f.attrs["architecture"]))
        config = json.loads(_attr_text(f.attrs["config"])) if "config" in f.attrs else {}
        model = build_model(arch)
        state = {}
        f["model"].visititems(lambda name, obj: state.__setitem__(
            name.replace("/", "."), torch.from_numpy(np.array(obj[()]))) if isinstance(obj, h5py.Dataset) else None)
    model.load_state_dict(state, strict=True)
    return model.to(map_location).eval(), arch, config


# ------------------------------------------------------------------------------ data
def rotate_sequences(image, angles_deg):
    """image (H, W) float; angles (N, T) degrees -> (N, T, H, W).

    cv2.warpAffine(image, cv2.getRotationMatrix2D((w//2, h//2), angle, 1.0), (w, h)):
    M = [[a, b, (1-a)cx - b cy], [-b, a, b cx + (1-a) cy]], a = cos, b = sin,
    dst(x, y) = src(M^-1 (x, y)): src_x = a(x-cx) - b(y-cy) + cx, src_y = b(x-cx) + a(y-cy) + cy.
    Positive angle = counter-clockwise on screen. Bilinear, zero outside.
    """
    h, w = image.shape
    ang = torch.as_tensor(angles_deg, dtype=torch.float64, device=image.device)
    n, t = ang.shape
    rad = ang.reshape(-1) * (math.pi / 180.0)
    a, b = torch.cos(rad)[:, None, None], torch.sin(rad)[:, None, None]
    cx, cy = float(w // 2), float(h // 2)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64, device=image.device),
                            torch.arange(w, dtype=torch.float64, device=image.device), indexing="ij")
    dx, dy = xs - cx, ys - cy
    sx = a * dx - b * dy + cx
    sy = b * dx + a * dy + cy
    # align_corners=True: -1 and +1 are the centres of the first and last pixels
    grid = torch.stack([2 * sx / (w - 1) - 1, 2 * sy / (h - 1) - 1], dim=-1).to(image.dtype)
    src = image[None, None].expand(n * t, 1, h, w)
    out = F.grid_sample(src, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return out.reshape(n, t, h, w)


def make_sequences(image_u8, n, seqlen, dtheta, generator=None, random_seq=False):
    """Sequences as the reference makes them: (N, 1, T, H, W) float32 in [0, 1].

    image_u8: (H, W) float tensor of values in [0, 255]; frames are rounded to uint8 values.
    Frame i of a sequence is rotated by angle0 + dtheta*i, angle0 uniform in [0, 360).
    """
    dev = image_u8.device
    if random_seq:
        ang = torch.rand(n, seqlen, generator=generator, dtype=torch.float64) * 360.0
    else:
        ang = (torch.rand(n, 1, generator=generator, dtype=torch.float64) * 360.0
               + dtheta * torch.arange(seqlen, dtype=torch.float64)[None])
    frames = rotate_sequences(image_u8.float(), ang.to(dev))
    return (frames.clamp(0, 255).round() / 255.0)[:, None]


def test_image(h, w, seed=0):
    """A deterministic rotation-asymmetric picture (H, W), values in [0, 255]:
    smooth random texture inside a disc, a bright off-centre bar, black outside."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(1, 1, max(h // 8, 3), max(w // 8, 3), generator=g)
    tex = F.interpolate(low, size=(h, w), mode="bilinear", align_corners=True)[0, 0]
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32),
                            torch.arange(w, dtype=torch.float32), indexing="ij")
    r = torch.sqrt((xs - w // 2) ** 2 + (ys - h // 2) ** 2)
    img = 60 + 150 * tex
    img = torch.where((xs > w * 0.55) & (xs < w * 0.7) & (ys > h * 0.2) & (ys < h * 0.5),
                      torch.full_like(img, 250.0), img)
    img = img * (r < 0.45 * min(h, w)).float()
    return img.round()


# ---------------------------------------------------------------------------- losses
def per_sample_loss(rec, x, loss_type="mse"):
    """(N,C,T,H,W) -> (N,): "mse": SSE over C,T,H,W; "max": max over C of SSE over T,H,W;
    both / seqlen / n_channels."""
    n, c, t = x.shape[:3]
    se = (rec - x).pow(2).reshape(n, c, -1).sum(-1)
    per = se.sum(1) if loss_type == "mse" else se.max(1).values
    return per / t / c


def recovery_loss(rec, x, loss_type="mse"):
    """Mean over the batch of per_sample_loss (mse: SSE / seqlen / n_channels / batch)."""
    return per_sample_loss(rec, x, loss_type).mean()


def _pairwise_distance(a, b):
    """Euclidean distances (len(a), len(b)); the gradient of a zero distance is zero."""
    sq = (a[:, None, :] - b[None, :, :]).pow(2).sum(-1)
    pos = sq > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, sq, torch.ones_like(sq))), torch.zeros_like(sq))


def contrastive_loss(x, y):
    """x: normal latents (n, D), y: defect latents (m, D).
    d_xx = sum over ordered pairs (diagonal included) / (n(n-1)/2); d_xy = sum / (n m).
    Returns d_xx - d_xy."""
    x, y = x.flatten(1), y.flatten(1)
    n, m = x.shape[0], y.shape[0]
    d_xx = _pairwise_distance(x, x).sum() / (n * (n - 1) / 2)
    d_xy = _pairwise_distance(x, y).sum() / (n * m)
    return d_xx - d_xy


def main(argv):
    if len(argv) != 1:
        print("usage: cdae_reference.py CKPT.h5 | seed | small", file=sys.stderr)
        return 2
    if argv[0] in PRESETS:
        arch, config = preset_architecture(argv[0]), {}
        model = build_model(arch)
    else:
        model, arch, config = load_checkpoint(argv[0])
    print(json.dumps(arch))
    print("parameters:", n_parameters(model))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
