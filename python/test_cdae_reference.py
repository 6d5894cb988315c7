#!/usr/bin/env python3
"""Self-test of cdae_reference.py (no cdae binaries needed). Exits non-zero on failure."""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdae_reference as R  # noqa: E402

SEED_NAMES = """spatial_encoder.0.weight spatial_encoder.0.bias spatial_encoder.0.running_mean
spatial_encoder.0.running_var spatial_encoder.0.num_batches_tracked
spatial_encoder.1.weight spatial_encoder.1.bias spatial_encoder.4.weight spatial_encoder.4.bias
spatial_encoder.6.weight spatial_encoder.6.bias
temporal_encoder_decoder.convlstm_1.cell_list.0.conv.weight temporal_encoder_decoder.convlstm_1.cell_list.0.conv.bias
temporal_encoder_decoder.convlstm_2.cell_list.0.conv.weight temporal_encoder_decoder.convlstm_2.cell_list.0.conv.bias
temporal_encoder_decoder.convlstm_3.cell_list.0.conv.weight temporal_encoder_decoder.convlstm_3.cell_list.0.conv.bias
spatial_decoder.0.weight spatial_decoder.0.bias spatial_decoder.2.weight spatial_decoder.2.bias
spatial_decoder.4.weight spatial_decoder.4.bias""".split()


def test_models():
    torch.manual_seed(0)
    seed = R.build_model(R.preset_architecture("seed")).eval()
    assert R.n_parameters(seed) == 7675203, R.n_parameters(seed)
    sd = seed.state_dict()
    assert list(sd.keys()) == SEED_NAMES, list(sd.keys())
    assert tuple(sd["temporal_encoder_decoder.convlstm_2.cell_list.0.conv.weight"].shape) == (128, 96, 3, 3)
    with torch.no_grad():
        rec, lat = seed(torch.rand(2, 1, 21, 101, 101))
    assert tuple(rec.shape) == (2, 1, 21, 101, 101), rec.shape
    assert tuple(lat.shape) == (2, 1, 32, 6, 6), lat.shape

    arch = R.preset_architecture("small", in_channels=2)
    small = R.build_model(arch).eval()
    # the small preset adds a layer norm in front of each ConvLSTM (model.lstm_norm = layer)
    small_names = []
    for name in SEED_NAMES:
        for k in (1, 2, 3):
            if name == "temporal_encoder_decoder.convlstm_%d.cell_list.0.conv.weight" % k:
                small_names += ["temporal_encoder_decoder.norm_%d.weight" % k, "temporal_encoder_decoder.norm_%d.bias" % k]
        small_names.append(name)
    assert list(small.state_dict().keys()) == small_names, list(small.state_dict().keys())
    with torch.no_grad():
        rec, lat = small(torch.rand(3, 2, arch["seqlen"], arch["height"], arch["width"]))
    assert tuple(rec.shape) == (3, 2, 21, 37, 37), rec.shape
    print("models ok: seed %d parameters, small latent %s" % (R.n_parameters(seed), tuple(lat.shape)))


def test_rotation():
    img = R.test_image(31, 31).double()
    same = R.rotate_sequences(img, [[0.0, 360.0]])
    assert torch.allclose(same[0, 0], img, atol=1e-9)
    assert torch.allclose(same[0, 1], img, atol=1e-7)
    rot = R.rotate_sequences(img, [[90.0, 180.0, -90.0]])[0].numpy()
    a = img.numpy()
    for k, out in zip((1, 2, -1), rot):  # counter-clockwise on screen = np.rot90(img, 1)
        assert np.abs(out - np.rot90(a, k)).max() < 1e-9, k
    assert np.abs(rot[0] - np.rot90(a, -1)).max() > 1.0  # direction actually matters
    # a single bright pixel right of centre moves up (counter-clockwise on screen)
    dot = torch.zeros(21, 21, dtype=torch.float64)
    dot[10, 15] = 1.0
    r = R.rotate_sequences(dot, [[90.0]])[0, 0]
    assert r[5, 10] == 1.0 and r.sum() == 1.0
    # even size: the centre is pixel (w//2, h//2)
    ev = torch.zeros(20, 20, dtype=torch.float64)
    ev[10, 10] = 1.0
    assert R.rotate_sequences(ev, [[37.0]])[0, 0, 10, 10] == 1.0
    seq = R.make_sequences(R.test_image(37, 37), 4, 21, 2.0, torch.Generator().manual_seed(1))
    assert tuple(seq.shape) == (4, 1, 21, 37, 37) and seq.dtype == torch.float32
    assert torch.equal(seq * 255, (seq * 255).round())
    print("rotation ok")


def test_losses():
    x = torch.zeros(2, 1, 4, 3, 3)
    rec = torch.ones(2, 1, 4, 3, 3)
    rec[1] *= 2
    assert torch.allclose(R.per_sample_loss(rec, x), torch.tensor([36 / 4, 144 / 4]))
    x2 = torch.zeros(1, 2, 4, 3, 3)
    r2 = torch.zeros(1, 2, 4, 3, 3)
    r2[0, 1] = 1
    assert torch.allclose(R.per_sample_loss(r2, x2, "max"), torch.tensor([36 / 4 / 2]))
    assert torch.allclose(R.per_sample_loss(r2, x2, "mse"), torch.tensor([36 / 4 / 2]))
    assert torch.allclose(R.recovery_loss(rec, x), torch.tensor(90 / 4))

    # contrastive: hand-computed, and finite gradient with zero distances
    xn = torch.tensor([[0.0, 0.0], [3.0, 4.0], [3.0, 4.0]], requires_grad=True)
    yd = torch.tensor([[0.0, 0.0]], requires_grad=True)
    lc = R.contrastive_loss(xn, yd)
    d_xx = 2 * (5 + 5 + 0) / 3.0
    d_xy = (0 + 5 + 5) / 3.0
    assert abs(lc.item() - (d_xx - d_xy)) < 1e-6, lc.item()
    lc.backward()
    assert torch.isfinite(xn.grad).all() and torch.isfinite(yd.grad).all()
    # compare with autograd of the plain formula where no distance is zero
    xa = torch.randn(5, 7, dtype=torch.float64, requires_grad=True)
    ya = torch.randn(2, 7, dtype=torch.float64)
    ref = (torch.cdist(xa, xa).sum() - torch.cdist(xa, xa).diagonal().sum()) / 10 - torch.cdist(xa, ya).mean()
    got = R.contrastive_loss(xa, ya)
    assert abs(ref.item() - got.item()) < 1e-9
    g1, = torch.autograd.grad(got, xa)
    xb = xa.detach().clone().requires_grad_(True)
    d = (xb[:, None] - xb[None]).pow(2).sum(-1) + torch.eye(5, dtype=torch.float64)
    ref2 = (d.sqrt().sum() - 5) / 10 - torch.cdist(xb, ya).mean()
    g2, = torch.autograd.grad(ref2, xb)
    assert torch.allclose(g1, g2, atol=1e-10)
    print("losses ok")


def write_fake_checkpoint(path, model, arch):
    """A checkpoint in the cdae HDF5 layout (as the C++ side writes it)."""
    import h5py
    import json
    with h5py.File(path, "w") as f:
        for k, v in model.state_dict().items():
            f["model/" + k] = v.numpy()
        f.attrs["epoch"] = np.int64(3)
        f.attrs["loss_min"] = 1.5
        f.attrs["config"] = json.dumps({"inference": {"loss_type": "mse"}})
        f.attrs["architecture"] = json.dumps(arch)
        f.attrs["version"] = "test"


def test_checkpoint_and_check():
    import h5py
    import subprocess
    import tempfile
    torch.manual_seed(3)
    arch = R.preset_architecture("small", dropout=0.0)
    model = R.build_model(arch)
    with torch.no_grad():  # non-trivial batch-norm statistics
        model.spatial_encoder[0].running_mean.fill_(0.2)
        model.spatial_encoder[0].running_var.fill_(0.5)
        model.spatial_decoder[4].bias.fill_(0.1)  # a non-zero reconstruction
    model.eval()
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as d:
        ck, inp, out = (os.path.join(d, n) for n in ("ck.h5", "in.h5", "out.h5"))
        write_fake_checkpoint(ck, model, arch)
        loaded, arch2, cfg = R.load_checkpoint(ck)
        assert arch2 == arch and cfg["inference"]["loss_type"] == "mse"
        for k, v in model.state_dict().items():
            assert torch.equal(v, loaded.state_dict()[k]), k
        tool = [sys.executable, os.path.join(here, "check_against_cdae.py"), "--checkpoint", ck]
        subprocess.check_call(tool + ["--make-input", inp, "--n", "3"])
        with h5py.File(inp, "r") as f:
            assert f["sequences"].dtype == np.uint8 and f["sequences"].shape == (3, 21, 37, 37)
            assert f["sequences_f32"].dtype == np.float32 and f["sequences_f32"].shape == (3, 1, 21, 37, 37)
            x = torch.from_numpy(f["sequences"][()].astype(np.float32) / 255)[:, None]
        with torch.no_grad():
            rec, lat = model(x)
        for scale, want in ((1.0, 0), (1.001, 1)):  # an exact copy passes, a 1e-3 error fails
            with h5py.File(out, "w") as f:
                f["reconstructions"] = rec.numpy() * scale
                f["latents"] = lat.reshape(3, -1).numpy()
                f["losses"] = R.per_sample_loss(rec, x).double().numpy()
            rc = subprocess.call(tool + ["--input", inp, "--dataset", "sequences", "--cdae-output", out])
            assert rc == want, (scale, rc)
    print("checkpoint round trip and check_against_cdae ok")


if __name__ == "__main__":
    test_checkpoint_and_check()
    test_models()
    test_rotation()
    test_losses()
    print("all ok")
