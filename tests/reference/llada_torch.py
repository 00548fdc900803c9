"""An independent PyTorch implementation of the LLaDA mask predictor (spec section 1) and of the
losses the engine trains with (spec section 2), used as the reference the C++ engine is tested
against. It is deliberately plain: it reads the Hugging Face checkpoint layout itself (no
`safetensors` or `transformers` package), computes in float32 (or float64 with f64=True), and uses
autograd for gradients.

bf16 checkpoints: the C++ engine multiplies bf16 weights with activations rounded to bf16
(round-to-nearest-even) and accumulates in f32. With bf16_matmul=True the reference does the same
arithmetic: the input of every matmul whose weight was stored as BF16 is rounded to bf16 and back
before an f32 matmul with the (exactly representable) upcast weight. Attention score/value
products have no weight and stay in f32.

Mixed-precision training (`llada train --precision bf16`, mixed_bf16=True here): every matrix
product, forward and backward (the linear layers, the head, attention's scores and values), takes
both inputs rounded to bf16 and accumulates in f32 (bf16_product below: its backward rounds the
incoming gradient and multiplies by the rounded saved inputs, as the engine's backward does).
"""
import json
import math
import os
import struct

import numpy as np
import torch

# ---- safetensors -------------------------------------------------------------------------------

_NP_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
    "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_,
}


def read_safetensors(path):
    """Returns (tensors, dtypes): name -> torch tensor (floats widened to float32), name -> the
    dtype string stored in the file."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} exceeds the file size {len(raw)}")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    body = memoryview(raw)[8 + n:]
    tensors, dtypes = {}, {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt, shape = info["dtype"], [int(s) for s in info["shape"]]
        begin, end = (int(o) for o in info["data_offsets"])
        if not (0 <= begin <= end <= len(body)):
            raise ValueError(f"{path}: tensor {name}: offsets [{begin}, {end}) outside the data")
        chunk = body[begin:end]
        if dt == "BF16":
            # bf16 is the top half of a float32: reinterpret the bits, then widen exactly.
            bits = np.frombuffer(chunk, dtype=np.int16).copy()
            t = torch.from_numpy(bits).view(torch.bfloat16).float()
        elif dt in _NP_DTYPES:
            arr = np.frombuffer(chunk, dtype=_NP_DTYPES[dt]).copy()
            t = torch.from_numpy(arr)
            if dt in ("F16", "F64"):
                t = t.float()
        else:
            raise ValueError(f"{path}: tensor {name}: unsupported dtype {dt}")
        if t.numel() != math.prod(shape):
            raise ValueError(f"{path}: tensor {name}: {t.numel()} elements for shape {shape}")
        tensors[name] = t.reshape(shape)
        dtypes[name] = dt
    return tensors, dtypes


def write_safetensors(path, tensors):
    """Writes name -> float tensor/array as F32 (what the engine's gradient comparison reads)."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(np.asarray(tensors[name], dtype=np.float32))
        data = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    hj = json.dumps(header).encode("utf-8")
    hj += b" " * ((8 - len(hj) % 8) % 8)  # keep the data 8-byte aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


# ---- config and checkpoint directory -----------------------------------------------------------

class Config:
    def __init__(self, j, source="config.json"):
        def need(key):
            if key not in j or j[key] is None:
                raise ValueError(f"{source}: missing field '{key}'")
            return j[key]

        for key, want in (("activation_type", "silu"), ("layer_norm_type", "rms"),
                          ("block_type", "llama")):
            if key in j and j[key] is not None and j[key] != want:
                raise ValueError(f"{source}: field '{key}' is '{j[key]}', expected '{want}'")
        if j.get("include_bias", False):
            raise ValueError(f"{source}: field 'include_bias' is true; LLaDA has no biases")
        if j.get("rope", True) is False:
            raise ValueError(f"{source}: field 'rope' is false; LLaDA uses RoPE")
        self.d_model = int(need("d_model"))
        self.n_layers = int(need("n_layers"))
        self.n_heads = int(need("n_heads"))
        kv = j.get("n_kv_heads")
        self.n_kv_heads = int(kv) if kv is not None else self.n_heads
        self.mlp_hidden_size = int(need("mlp_hidden_size"))
        self.vocab_size = int(need("vocab_size"))
        es = j.get("embedding_size")
        self.embedding_size = int(es) if es is not None else self.vocab_size
        self.rope_theta = float(j.get("rope_theta", 10000.0))
        self.rms_norm_eps = float(j.get("rms_norm_eps", 1e-5))
        self.weight_tying = bool(j.get("weight_tying", False))
        self.causal = bool(j.get("causal", False))
        if self.d_model % self.n_heads or self.n_heads % self.n_kv_heads:
            raise ValueError(f"{source}: d_model {self.d_model}, n_heads {self.n_heads}, "
                             f"n_kv_heads {self.n_kv_heads} are inconsistent")
        self.head_dim = self.d_model // self.n_heads


def weight_names(cfg):
    """Every weight's Hugging Face name, in the canonical order."""
    names = ["model.transformer.wte.weight"]
    for i in range(cfg.n_layers):
        p = f"model.transformer.blocks.{i}."
        names += [p + s + ".weight" for s in ("attn_norm", "q_proj", "k_proj", "v_proj", "attn_out",
                                              "ff_norm", "ff_proj", "up_proj", "ff_out")]
    names.append("model.transformer.ln_f.weight")
    if not cfg.weight_tying:
        names.append("model.transformer.ff_out.weight")
    return names


def expected_shapes(cfg):
    C, F, Ve, KV = cfg.d_model, cfg.mlp_hidden_size, cfg.embedding_size, cfg.n_kv_heads * cfg.head_dim
    shapes = {}
    for n in weight_names(cfg):
        s = n.rsplit(".", 2)[-2]
        if n.endswith("wte.weight") or n == "model.transformer.ff_out.weight":
            shapes[n] = [Ve, C]
        elif s in ("attn_norm", "ff_norm", "ln_f"):
            shapes[n] = [C]
        elif s in ("q_proj", "attn_out"):
            shapes[n] = [C, C]
        elif s in ("k_proj", "v_proj"):
            shapes[n] = [KV, C]
        elif s in ("ff_proj", "up_proj"):
            shapes[n] = [F, C]
        elif s == "ff_out":
            shapes[n] = [C, F]
    return shapes


def load_dir(model_dir):
    """Reads config.json and model.safetensors (or shards listed in model.safetensors.index.json)."""
    cpath = os.path.join(model_dir, "config.json")
    with open(cpath) as f:
        cfg = Config(json.load(f), cpath)
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    tensors, dtypes = {}, {}
    for fn in files:
        t, d = read_safetensors(os.path.join(model_dir, fn))
        tensors.update(t)
        dtypes.update(d)
    with open(cpath) as f:
        qc = json.load(f).get("quantization_config", {})
    if qc.get("layout") == "panels":
        # int8 matrices stored in the engine's packed layout (docs/quantization.md): panels
        # [ceil(N/32)][ceil(K/4)][32][4], W[32p + j][4q + e] at [p][q][j][e], zero-padded.
        for n, shape in expected_shapes(cfg).items():
            if dtypes.get(n) != "I8" or len(shape) != 2:
                continue
            N, K = shape
            p = tensors[n]
            P, K4 = (N + 31) // 32, (K + 3) // 4
            if list(p.shape) != [P, K4, 32, 4]:
                raise ValueError(f"{model_dir}: int8 panels {n} have shape {list(p.shape)}, expected {[P, K4, 32, 4]}")
            w = p.permute(0, 2, 1, 3).reshape(P * 32, K4 * 4)
            if w[N:].any() or w[:, K:].any():
                raise ValueError(f"{model_dir}: int8 panels {n}: the padding is not zero")
            w = w[:N, :K].contiguous()
            sums = tensors[n + "_colsum"]
            if not torch.equal(w.to(torch.int64).sum(1), sums.to(torch.int64)):
                raise ValueError(f"{model_dir}: {n}_colsum differs from the sums of the int8 rows")
            tensors[n] = w
    if qc.get("weight_dtype") == "q4":
        # 4-bit matrices (docs/quantization.md): panels [P][G][8][64] bytes, byte 4c + e of quad t
        # holding (k = 32g + 4t + e) column 32p + c in its low nibble and 32p + 16 + c in its high
        # one, each q + 8; scales [P][G][32] BF16. Unpacked to q [N, K] and scales [N, G].
        for n, shape in expected_shapes(cfg).items():
            if dtypes.get(n) != "U8" or len(shape) != 2:
                continue
            N, K = shape
            p = tensors[n].to(torch.int64)
            P, G = (N + 31) // 32, (K + 31) // 32
            if list(p.shape) != [P, G, 8, 64]:
                raise ValueError(f"{model_dir}: q4 panels {n} have shape {list(p.shape)}, expected {[P, G, 8, 64]}")
            p = p.reshape(P, G, 8, 16, 4)  # [p][g][t][c][e]
            both = torch.stack([p & 15, p >> 4], dim=1)  # [p][half][g][t][c][e]
            q = both.permute(0, 1, 4, 2, 3, 5).reshape(P * 32, G * 32) - 8
            if q[N:].any() or q[:, K:].any():
                raise ValueError(f"{model_dir}: q4 panels {n}: the padding is not zero")
            sc = tensors[n + "_scale"].float().permute(0, 2, 1).reshape(P * 32, G)
            tensors[n] = q[:N, :K].contiguous()
            tensors[n + "_scale"] = sc[:N].contiguous()
            dtypes[n] = "Q4"
    for n, shape in expected_shapes(cfg).items():
        if n not in tensors:
            raise ValueError(f"{model_dir}: missing tensor {n}")
        if list(tensors[n].shape) != shape:
            raise ValueError(f"{model_dir}: tensor {n} has shape {list(tensors[n].shape)}, "
                             f"expected {shape}")
    return cfg, tensors, dtypes


# ---- the model ---------------------------------------------------------------------------------

def round_bf16(x):
    """Round to bf16 (nearest even) and back, with a straight-through gradient so autograd still
    works on bf16 models. Float64 goes through float32 first, as the engine's activations do."""
    r = x.float().to(torch.bfloat16).to(x.dtype)
    return x + (r - x).detach() if x.requires_grad else r


class _Bf16Product(torch.autograd.Function):
    """a @ b with both rounded to bf16; backward: grad_a = r(g) @ r(b)^T, grad_b = r(a)^T @ r(g)."""

    @staticmethod
    def forward(ctx, a, b):
        ra, rb = round_bf16(a.detach()), round_bf16(b.detach())
        ctx.save_for_backward(ra, rb)
        return ra @ rb

    @staticmethod
    def backward(ctx, g):
        ra, rb = ctx.saved_tensors
        rg = round_bf16(g)
        return rg @ rb.transpose(-1, -2), ra.transpose(-1, -2) @ rg


def bf16_product(a, b):
    return _Bf16Product.apply(a, b)


class LLaDA:
    def __init__(self, cfg, tensors, dtypes, f64=False, bf16_matmul=True, requires_grad=False,
                 dtype=None, mixed_bf16=False):
        """dtype (e.g. torch.bfloat16) overrides the compute dtype: the benchmark's "model cast to
        bf16", not a reference mode."""
        self.cfg = cfg
        self.dtype = dtype if dtype is not None else (torch.float64 if f64 else torch.float32)
        self.bf16_matmul = bf16_matmul
        self.mixed_bf16 = mixed_bf16
        self.w = {}
        for n in weight_names(cfg):
            t = tensors[n].to(self.dtype).clone()
            t.requires_grad_(requires_grad)
            self.w[n] = t
        self.stored_bf16 = {n: dtypes.get(n) == "BF16" for n in self.w}
        # int8 weights (`llada quantize`): the integer matrix and its per-row scales, for the
        # emulation of the engine's int8 product in linear().
        self.int8 = {n: (tensors[n].to(torch.float64), tensors[n + "_scale"].float())
                     for n in self.w if dtypes.get(n) == "I8"}
        # 4-bit weights: q [N, K] in [-7, 7] and the group scales [N, K / 32], for q4_product.
        self.q4 = {n: (tensors[n].to(torch.float64), tensors[n + "_scale"].float())
                   for n in self.w if dtypes.get(n) == "Q4"}

    @staticmethod
    def load(model_dir, **kw):
        cfg, tensors, dtypes = load_dir(model_dir)
        return LLaDA(cfg, tensors, dtypes, **kw)

    def head_name(self):
        return ("model.transformer.wte.weight" if self.cfg.weight_tying
                else "model.transformer.ff_out.weight")

    @staticmethod
    def int8_product(x, wq, ws):
        """The engine's int8 product (kernels/cpu/packed_gemm_i8.cpp), step for step in float32:
        each row of x quantized to round-half-even(x * 127 / max|x|) in [-127, 127], the integer
        dot products (exact here in float64), then float(sum) * (sa * sw)."""
        x = x.float()
        amax = x.abs().amax(-1, keepdim=True)
        inv = torch.where(amax > 0, torch.tensor(127.0) / amax, torch.zeros_like(amax))
        q = torch.clamp(torch.round(x * inv), -127, 127)
        sa = amax / torch.tensor(127.0)
        acc = (q.double() @ wq.t()).float()
        return acc * (sa * ws[None, :] if x.dim() == 2 else sa * ws)

    @staticmethod
    def q4_product(x, q, s):
        """The engine's 4-bit product (kernels/cpu/packed_gemm_q4.cpp), step for step in float32:
        each row of x quantized as for int8, then per group g of 32 inputs the exact integer sum
        D_g = sum a * q and acc = fma(D_g, s_g, acc) (float64 holds the exact product, one rounding
        to float32 then; a double rounding differs from a true fma in rare last bits), then acc * sa."""
        shape = x.shape
        x = x.float().reshape(-1, shape[-1])
        amax = x.abs().amax(-1, keepdim=True)
        inv = torch.where(amax > 0, torch.tensor(127.0) / amax, torch.zeros_like(amax))
        a = torch.clamp(torch.round(x * inv), -127, 127).double()
        sa = amax / torch.tensor(127.0)
        acc = torch.zeros(x.shape[0], q.shape[0], dtype=torch.float32)
        for g in range(0, q.shape[1], 32):
            d = a[:, g:g + 32] @ q[:, g:g + 32].t()
            acc = (d * s[:, g // 32].double()[None, :] + acc.double()).float()
        return (acc * sa).reshape(*shape[:-1], q.shape[0])

    def linear(self, x, name):
        # y = x W^T with W stored [out, in]; bf16-stored weights see bf16-rounded inputs.
        if name in self.int8:
            return self.int8_product(x, *self.int8[name]).to(self.dtype)
        if name in self.q4:
            return self.q4_product(x, *self.q4[name]).to(self.dtype)
        if self.mixed_bf16:
            return bf16_product(x, self.w[name].t())
        if self.bf16_matmul and self.stored_bf16[name]:
            x = round_bf16(x)
        return x @ self.w[name].t()

    def rms_norm(self, x, name):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.cfg.rms_norm_eps) * self.w[name]

    def rope_tables(self, T):
        hd = self.cfg.head_dim
        dt = torch.float64 if self.dtype == torch.float64 else torch.float32  # spec: f32 angles
        inv_freq = 1.0 / (self.cfg.rope_theta ** (torch.arange(0, hd, 2, dtype=dt) / hd))
        ang = torch.arange(T, dtype=dt)[:, None] * inv_freq[None, :]
        ang = torch.cat([ang, ang], dim=-1)  # [T, hd]
        return ang.cos().to(self.dtype), ang.sin().to(self.dtype)

    @staticmethod
    def rope(x, cos, sin):
        half = x.shape[-1] // 2
        rot = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * cos + rot * sin

    def attention(self, n, prefix, key_mask, causal, cos, sin):
        cfg = self.cfg
        B, T, _ = n.shape
        H, KVH, hd = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
        q = self.linear(n, prefix + "q_proj.weight").view(B, T, H, hd).transpose(1, 2)
        k = self.linear(n, prefix + "k_proj.weight").view(B, T, KVH, hd).transpose(1, 2)
        v = self.linear(n, prefix + "v_proj.weight").view(B, T, KVH, hd).transpose(1, 2)
        q, k = self.rope(q, cos, sin), self.rope(k, cos, sin)
        if KVH != H:  # each kv head serves H/KVH consecutive query heads
            k = k.repeat_interleave(H // KVH, dim=1)
            v = v.repeat_interleave(H // KVH, dim=1)
        mm = bf16_product if self.mixed_bf16 else torch.matmul
        scores = mm(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(hd))  # [B, H, T, T]
        allowed = key_mask[:, None, None, :].expand(B, 1, T, T)
        if causal:
            allowed = allowed & torch.ones(T, T, dtype=torch.bool).tril()[None, None]
        scores = scores.masked_fill(~allowed, float("-inf"))
        # A query that sees no key (causal + left padding) outputs zeros, without NaN in backward.
        empty = ~allowed.any(-1, keepdim=True)
        scores = scores.masked_fill(empty, 0.0)
        probs = torch.softmax(scores, dim=-1) * (~empty).to(scores.dtype)
        out = mm(probs, v).transpose(1, 2).reshape(B, T, H * hd)
        return self.linear(out, prefix + "attn_out.weight")

    def forward(self, ids, attention_mask=None, causal=None):
        """ids [B, T] int; attention_mask [B, T] (0 = padding key, never attended to) or None;
        causal None = the config's flag. Returns logits [B, T, embedding_size] in the compute dtype."""
        cfg = self.cfg
        ids = torch.as_tensor(np.asarray(ids), dtype=torch.long)
        B, T = ids.shape
        if int(ids.min()) < 0 or int(ids.max()) >= cfg.embedding_size:
            raise ValueError(f"ids outside [0, {cfg.embedding_size})")
        key_mask = (torch.ones(B, T, dtype=torch.bool) if attention_mask is None
                    else torch.as_tensor(np.asarray(attention_mask)).to(torch.bool))
        causal = cfg.causal if causal is None else causal
        cos, sin = self.rope_tables(T)
        x = self.w["model.transformer.wte.weight"][ids]
        for i in range(cfg.n_layers):
            p = f"model.transformer.blocks.{i}."
            x = x + self.attention(self.rms_norm(x, p + "attn_norm.weight"), p, key_mask, causal,
                                   cos, sin)
            m = self.rms_norm(x, p + "ff_norm.weight")
            gate = torch.nn.functional.silu(self.linear(m, p + "ff_proj.weight"))
            x = x + self.linear(gate * self.linear(m, p + "up_proj.weight"), p + "ff_out.weight")
        x = self.rms_norm(x, "model.transformer.ln_f.weight")
        return self.linear(x, self.head_name())

    def grads(self):
        return {n: (t.grad if t.grad is not None else torch.zeros_like(t)) for n, t in self.w.items()}


# ---- losses ------------------------------------------------------------------------------------

def weighted_ce(logits, rows, targets, weights):
    """sum_i weights[i] * CE(logits.view(-1, V)[rows[i]], targets[i]); rows are flat b*T+t."""
    flat = logits.reshape(-1, logits.shape[-1])
    rows = torch.as_tensor(np.asarray(rows), dtype=torch.long)
    targets = torch.as_tensor(np.asarray(targets), dtype=torch.long)
    weights = torch.as_tensor(np.asarray(weights)).to(logits.dtype)
    ce = torch.nn.functional.cross_entropy(flat[rows], targets, reduction="none")
    return (ce * weights).sum()


def masked_diffusion_loss(logits, x0, mask, p):
    """Spec section 2: sum over masked positions of CE(logits_i, x0_i) / p_b, divided by B*L.
    logits [B, L, V] from the model run on the noisy ids; x0 [B, L] clean ids; mask [B, L] bool;
    p [B] the masking probability of each sequence."""
    B, L, V = logits.shape
    x0 = torch.as_tensor(np.asarray(x0), dtype=torch.long)
    mask = torch.as_tensor(np.asarray(mask)).to(torch.bool)
    p = torch.as_tensor(np.asarray(p)).to(logits.dtype)
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, V), x0.reshape(-1),
                                           reduction="none").view(B, L)
    return (ce / p[:, None])[mask].sum() / (B * L)


def masked_diffusion_batch(x0, mask_id, rng, eps=1e-3):
    """Draws one pre-training batch (spec section 2) with a numpy Generator: returns the noisy ids,
    the mask and p per sequence."""
    x0 = np.asarray(x0)
    B, L = x0.shape
    t = rng.random(B)
    p = (1 - eps) * t + eps
    mask = rng.random((B, L)) < p[:, None]
    noisy = np.where(mask, mask_id, x0)
    return noisy, mask, p
