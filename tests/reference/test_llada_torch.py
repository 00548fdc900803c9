#!/usr/bin/python3
"""Self-test of the PyTorch reference: before the reference judges the C++ engine it is itself
checked against a second, deliberately naive implementation (numpy float64, one position and one
head at a time, RoPE as explicit pair rotations) written straight from spec section 1, against
finite differences for its gradients, and against hand-made safetensors files for its reader.
Run: /usr/bin/python3 tests/reference/test_llada_torch.py  (also run by test_model's VsTorch suite).
"""
import json
import math
import os
import struct
import sys
import tempfile
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import llada_torch as lt  # noqa: E402


def make_config(**kw):
    j = dict(d_model=8, n_layers=2, n_heads=2, n_kv_heads=1, mlp_hidden_size=12, vocab_size=11,
             embedding_size=13, rope_theta=10000.0, rms_norm_eps=1e-5, weight_tying=False,
             activation_type="silu", layer_norm_type="rms", block_type="llama", include_bias=False,
             rope=True, mask_token_id=12, eos_token_id=10, pad_token_id=10)
    j.update(kw)
    return j


def random_tensors(cfg, seed, scale=0.5):
    g = np.random.default_rng(seed)
    out = {}
    for n, shape in lt.expected_shapes(cfg).items():
        if len(shape) == 1:
            out[n] = 1.0 + 0.1 * g.standard_normal(shape)
        else:
            out[n] = scale * g.standard_normal(shape)
    return out


def write_model(d, cfgj, arrays, bf16=False):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfgj, f)
    header, blobs, off = {}, [], 0
    for n, a in arrays.items():
        a32 = np.asarray(a, dtype=np.float32)
        if bf16 and a32.ndim == 2:
            data = torch.from_numpy(a32).to(torch.bfloat16).view(torch.int16).numpy().tobytes()
            dt = "BF16"
        else:
            data, dt = a32.tobytes(), "F32"
        header[n] = {"dtype": dt, "shape": list(a32.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    hj = json.dumps(header).encode()
    with open(os.path.join(d, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(hj)) + hj + b"".join(blobs))


# ---- the naive implementation ------------------------------------------------------------------

def naive_forward(cfg, W, ids, key_mask, causal):
    """float64, loops; W maps names to numpy arrays. Returns logits [B, T, Ve]."""
    B, T = ids.shape
    C, H, KVH, hd = cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim

    def rms(x, w):
        return x / math.sqrt(sum(v * v for v in x) / len(x) + cfg.rms_norm_eps) * w

    def rot(vec, pos):  # rotate pair (i, i + hd/2) by pos * theta^(-2i/hd)
        out = vec.copy()
        for i in range(hd // 2):
            a = pos * cfg.rope_theta ** (-2.0 * i / hd)
            x1, x2 = vec[i], vec[i + hd // 2]
            out[i] = x1 * math.cos(a) - x2 * math.sin(a)
            out[i + hd // 2] = x2 * math.cos(a) + x1 * math.sin(a)
        return out

    logits = np.zeros((B, T, cfg.embedding_size))
    for b in range(B):
        x = np.array([W["model.transformer.wte.weight"][ids[b, t]] for t in range(T)])
        for l in range(cfg.n_layers):
            p = f"model.transformer.blocks.{l}."
            n = np.array([rms(x[t], W[p + "attn_norm.weight"]) for t in range(T)])
            q = n @ W[p + "q_proj.weight"].T
            k = n @ W[p + "k_proj.weight"].T
            v = n @ W[p + "v_proj.weight"].T
            att = np.zeros((T, C))
            for h in range(H):
                g = h // (H // KVH)
                for t in range(T):
                    qh = rot(q[t, h * hd:(h + 1) * hd], t)
                    keys = [s for s in range(T) if key_mask[b, s] and (not causal or s <= t)]
                    if not keys:
                        continue
                    sc = [float(qh @ rot(k[s, g * hd:(g + 1) * hd], s)) / math.sqrt(hd) for s in keys]
                    mx = max(sc)
                    e = [math.exp(z - mx) for z in sc]
                    for s, ev in zip(keys, e):
                        att[t, h * hd:(h + 1) * hd] += ev / sum(e) * v[s, g * hd:(g + 1) * hd]
            x = x + att @ W[p + "attn_out.weight"].T
            m = np.array([rms(x[t], W[p + "ff_norm.weight"]) for t in range(T)])
            gate = m @ W[p + "ff_proj.weight"].T
            up = m @ W[p + "up_proj.weight"].T
            x = x + (gate / (1 + np.exp(-gate)) * up) @ W[p + "ff_out.weight"].T
        x = np.array([rms(x[t], W["model.transformer.ln_f.weight"]) for t in range(T)])
        head = W["model.transformer.wte.weight" if cfg.weight_tying else "model.transformer.ff_out.weight"]
        logits[b] = x @ head.T
    return logits


class ReferenceTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def check_forward(self, causal=False, **kw):
        cfgj = make_config(**kw)
        cfg = lt.Config(cfgj)
        arrays = random_tensors(cfg, seed=1)
        W = {n: np.asarray(a, dtype=np.float32).astype(np.float64) for n, a in arrays.items()}
        d = os.path.join(self.tmp.name, "m")
        write_model(d, cfgj, arrays)
        g = np.random.default_rng(2)
        ids = g.integers(0, cfg.embedding_size, size=(3, 6))
        mask = np.ones((3, 6), dtype=np.int64)
        mask[1, :2] = 0  # left padding
        mask[2, :5] = 0
        want = naive_forward(cfg, W, ids, mask, causal)
        for f64, tol in ((True, 1e-12), (False, 1e-5)):
            got = lt.LLaDA.load(d, f64=f64).forward(ids, mask, causal=causal).detach().numpy()
            err = np.abs(got - want).max() / np.abs(want).max()
            self.assertLess(err, tol, f"f64={f64} causal={causal} {kw}")

    def test_forward_mha(self):
        self.check_forward(n_kv_heads=2)

    def test_forward_gqa_tied(self):
        self.check_forward(n_heads=4, n_kv_heads=2, weight_tying=True)

    def test_forward_causal(self):
        self.check_forward(causal=True)

    def test_forward_theta(self):
        self.check_forward(rope_theta=500000.0, d_model=12, n_heads=3, n_kv_heads=3)

    def test_padding_does_not_leak(self):
        # Changing a padding token must not change any other position's logits (bidirectional).
        cfgj = make_config()
        cfg = lt.Config(cfgj)
        d = os.path.join(self.tmp.name, "m")
        write_model(d, cfgj, random_tensors(cfg, seed=3))
        m = lt.LLaDA.load(d, f64=True)
        ids = np.array([[1, 2, 3, 4, 5]])
        mask = np.array([[0, 1, 1, 1, 1]])
        a = m.forward(ids, mask).detach().numpy()
        ids2 = ids.copy()
        ids2[0, 0] = 7
        b = m.forward(ids2, mask).detach().numpy()
        np.testing.assert_allclose(a[0, 1:], b[0, 1:], rtol=0, atol=1e-12)
        c = m.forward(ids2).detach().numpy()  # without the mask it must leak
        self.assertGreater(np.abs(c[0, 1:] - a[0, 1:]).max(), 1e-6)

    def test_gradients_finite_differences(self):
        cfgj = make_config(weight_tying=True, n_kv_heads=1)
        cfg = lt.Config(cfgj)
        d = os.path.join(self.tmp.name, "m")
        write_model(d, cfgj, random_tensors(cfg, seed=4))
        m = lt.LLaDA.load(d, f64=True, requires_grad=True)
        ids = np.array([[1, 12, 3, 12], [12, 5, 12, 7]])
        mask = np.array([[1, 1, 1, 1], [0, 1, 1, 1]])
        rows, targets, weights = [1, 3, 6], [2, 4, 6], [0.5, 0.25, 1.5]

        def loss():
            return lt.weighted_ce(m.forward(ids, mask), rows, targets, weights)

        loss().backward()
        g = np.random.default_rng(5)
        for n, t in m.w.items():
            flat = t.detach().view(-1)
            for idx in g.choice(flat.numel(), size=min(3, flat.numel()), replace=False):
                with torch.no_grad():
                    old = flat[idx].item()
                    flat[idx] = old + 1e-6
                    up = loss().item()
                    flat[idx] = old - 1e-6
                    dn = loss().item()
                    flat[idx] = old
                fd = (up - dn) / 2e-6
                self.assertAlmostEqual(t.grad.view(-1)[idx].item(), fd, delta=1e-6 + 1e-5 * abs(fd),
                                       msg=f"{n}[{idx}]")

    def test_masked_diffusion_loss_equals_weighted_ce(self):
        cfgj = make_config()
        cfg = lt.Config(cfgj)
        d = os.path.join(self.tmp.name, "m")
        write_model(d, cfgj, random_tensors(cfg, seed=6))
        m = lt.LLaDA.load(d, f64=True)
        g = np.random.default_rng(7)
        x0 = g.integers(0, 10, size=(3, 5))
        noisy, mask, p = lt.masked_diffusion_batch(x0, 12, g)
        self.assertTrue(((noisy == 12) == mask).all())
        logits = m.forward(noisy)
        a = lt.masked_diffusion_loss(logits, x0, mask, p).item()
        rows = np.flatnonzero(mask.reshape(-1))
        w = (1.0 / (np.repeat(p, 5) * 15))[rows]
        b = lt.weighted_ce(logits, rows, x0.reshape(-1)[rows], w).item()
        self.assertAlmostEqual(a, b, delta=1e-12 * abs(a))
        # Hand check of one term: CE by log-sum-exp.
        lg = logits.detach().numpy().reshape(-1, cfg.embedding_size)
        r = rows[0]
        ce = np.log(np.exp(lg[r]).sum()) - lg[r, x0.reshape(-1)[r]]
        c = lt.weighted_ce(logits, [r], [x0.reshape(-1)[r]], [1.0]).item()
        self.assertAlmostEqual(c, ce, delta=1e-10)

    def test_bf16_reader_and_rounding(self):
        path = os.path.join(self.tmp.name, "t.safetensors")
        bits = struct.pack("<4H", 0x3F80, 0xC000, 0x3F81, 0x0001)  # 1, -2, 1+2^-7, tiny denormal
        hj = json.dumps({"x": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]},
                         "__metadata__": {"format": "pt"}}).encode()
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(hj)) + hj + bits)
        t, dt = lt.read_safetensors(path)
        self.assertEqual(dt["x"], "BF16")
        self.assertEqual(t["x"][0].tolist(), [1.0, -2.0])
        self.assertEqual(t["x"][1, 0].item(), 1.0 + 2 ** -7)
        self.assertEqual(t["x"][1, 1].item(), 2.0 ** -133)
        # Round to nearest, ties to even.
        x = torch.tensor([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, -(1 + 2 ** -8)])
        self.assertEqual(lt.round_bf16(x).tolist(), [1.0, 1 + 2 ** -6, 1 + 2 ** -7, -1.0])
        # A lying header is refused with the tensor's name.
        hj = json.dumps({"y": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(hj)) + hj + b"\0" * 8)
        with self.assertRaisesRegex(ValueError, "tensor y"):
            lt.read_safetensors(path)

    def test_bf16_matmul_emulation(self):
        # With bf16 weights, every weighted matmul must see bf16-rounded inputs: compare with the
        # naive float64 implementation fed explicitly rounded activations via a one-layer model
        # whose only non-trivial path is the head (n_layers=0).
        cfgj = make_config(n_layers=0)
        cfg = lt.Config(cfgj)
        arrays = random_tensors(cfg, seed=8)
        d = os.path.join(self.tmp.name, "m")
        write_model(d, cfgj, arrays, bf16=True)
        m = lt.LLaDA.load(d)
        self.assertTrue(m.stored_bf16["model.transformer.ff_out.weight"])
        self.assertFalse(m.stored_bf16["model.transformer.ln_f.weight"])
        ids = np.array([[1, 2, 3]])
        got = m.forward(ids).detach().numpy()[0]
        wte = torch.from_numpy(np.asarray(arrays["model.transformer.wte.weight"], np.float32))
        wte = wte.to(torch.bfloat16).double()
        head = torch.from_numpy(np.asarray(arrays["model.transformer.ff_out.weight"], np.float32))
        head = head.to(torch.bfloat16).double()
        lnf = torch.from_numpy(np.asarray(arrays["model.transformer.ln_f.weight"], np.float32)).double()
        x = wte[torch.tensor([1, 2, 3])]
        x = x / torch.sqrt((x * x).mean(-1, keepdim=True) + 1e-5) * lnf
        x = x.float().to(torch.bfloat16).double()
        want = (x @ head.T).numpy()
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * np.abs(want).max())
        off = lt.LLaDA.load(d, bf16_matmul=False).forward(ids).detach().numpy()[0]
        self.assertGreater(np.abs(off - want).max(), 1e-4 * np.abs(want).max())

    def test_cli_logits_and_grads(self):
        cfgj = make_config()
        cfg = lt.Config(cfgj)
        d = os.path.join(self.tmp.name, "m")
        write_model(d, cfgj, random_tensors(cfg, seed=9))
        ids = os.path.join(self.tmp.name, "ids.npy")
        np.save(ids, np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int32))
        f = lambda n: os.path.join(self.tmp.name, n)  # noqa: E731
        np.save(f("rows.npy"), np.array([0, 4], dtype=np.int32))
        np.save(f("targets.npy"), np.array([3, 9], dtype=np.int32))
        np.save(f("weights.npy"), np.array([1.0, 0.5], dtype=np.float32))
        # In-process (a subprocess would import torch again: seconds on a loaded machine).
        import ref_cli
        ref_cli.main(["logits", "--model", d, "--ids", ids, "--out", f("y.npy")])
        y = np.load(f("y.npy"))
        self.assertEqual((y.dtype, y.shape), (np.float32, (2, 3, cfg.embedding_size)))
        ref_cli.main(["grads", "--model", d, "--ids", ids, "--rows", f("rows.npy"),
                      "--targets", f("targets.npy"), "--weights", f("weights.npy"),
                      "--out", f("g.safetensors")])
        g, dt = lt.read_safetensors(f("g.safetensors"))
        self.assertEqual(set(g), set(lt.weight_names(cfg)) | {"loss"})
        lg = torch.from_numpy(y.reshape(-1, cfg.embedding_size)).double()
        want = (torch.logsumexp(lg[[0, 4]], -1) - lg[[0, 4], [3, 9]]) @ torch.tensor([1.0, 0.5]).double()
        self.assertAlmostEqual(g["loss"].item(), want.item(), delta=1e-5 * abs(want.item()))
        with self.assertRaisesRegex(ValueError, "ids must be integers"):
            ref_cli.main(["logits", "--model", d, "--ids", f("weights.npy"), "--out", f("z.npy")])


if __name__ == "__main__":
    torch.set_num_threads(1)  # tiny tensors: threads only add overhead
    unittest.main()
