#!/usr/bin/python3
"""torch_reference.py: the PyTorch twin of difft's language models, and the fixture writer.

A readable re-implementation of docs ../shared/docs/diff-transformer.md (sections 1, 2, 4, 5, 9) in
plain PyTorch (works with Debian's python3-torch 1.13; no flash-attn, no safetensors package).
It writes, for tiny configs of each kind (DIFF / standard) and each attention layout (MHA / GQA),
tests/fixtures/<name>.safetensors holding:
    param.<name>   every parameter (torch's own initialisation)
    tokens, targets (B, T) int64
    logits (B, T, V), loss ()
    grad.<name>    the gradient of the loss w.r.t. every parameter
    adamw_losses (10,), adamw_grad_norms (10,)  loss and pre-clip grad norm of 10 AdamW steps
    final.<name>   the parameters after those 10 steps
and the model config plus the optimizer settings in __metadata__. The C++ tests
(tests/test_fixtures.cpp) load the parameters and compare everything else.

Run: /usr/bin/python3 scripts/torch_reference.py (Debian python3-torch; apt-get install python3-torch) [--out tests/fixtures]
"""
import argparse
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---- the model -----------------------------------------------------------------------------
def rope_interleaved(x, theta):
    """x (B, T, H, d): rotate pairs (x[2m], x[2m+1]) at position t by t * theta^(-2m/d)."""
    B, T, H, d = x.shape
    m = torch.arange(d // 2, dtype=torch.float64)
    inv = theta ** (-2.0 * m / d)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]          # (T, d/2)
    cos = ang.cos().to(x.dtype)[None, :, None, :]
    sin = ang.sin().to(x.dtype)[None, :, None, :]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1)      # (B, T, H, d/2, 2)
    return out.flatten(-2)


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return rms_norm(x, self.weight, self.eps)


def causal_softmax(scores):
    T, S = scores.shape[-2:]
    mask = torch.triu(torch.ones(T, S, dtype=torch.bool), 1 + S - T)
    return F.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)


def repeat_kv(x, n_rep):
    """(B, Hkv, T, c) -> (B, Hkv*n_rep, T, c); query head i reads kv head i // n_rep."""
    return x.repeat_interleave(n_rep, dim=1)


class Attention(nn.Module):
    def __init__(self, D, H, Hkv, theta):
        super().__init__()
        self.H, self.Hkv, self.d, self.theta = H, Hkv, D // H, theta
        self.q_proj = nn.Linear(D, H * self.d, bias=False)
        self.k_proj = nn.Linear(D, Hkv * self.d, bias=False)
        self.v_proj = nn.Linear(D, Hkv * self.d, bias=False)
        self.out_proj = nn.Linear(H * self.d, D, bias=False)

    def forward(self, x):
        B, T, _ = x.shape
        q = rope_interleaved(self.q_proj(x).view(B, T, self.H, self.d), self.theta).transpose(1, 2)
        k = rope_interleaved(self.k_proj(x).view(B, T, self.Hkv, self.d), self.theta).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.Hkv, self.d).transpose(1, 2)
        n_rep = self.H // self.Hkv
        a = causal_softmax(q @ repeat_kv(k, n_rep).transpose(-1, -2) / math.sqrt(self.d))
        o = (a @ repeat_kv(v, n_rep)).transpose(1, 2).reshape(B, T, self.H * self.d)
        return self.out_proj(o)


def lambda_init_fn(depth):
    return 0.8 - 0.6 * math.exp(-0.3 * depth)


class DiffAttention(nn.Module):
    """h DIFF heads (half the baseline's), d = D / 2h, V 2d wide. GQA with the flash pairing."""

    def __init__(self, D, h, hkv, depth, theta):
        super().__init__()
        self.h, self.hkv, self.d, self.theta = h, hkv, D // h // 2, theta
        d = self.d
        self.q_proj = nn.Linear(D, 2 * h * d, bias=False)
        self.k_proj = nn.Linear(D, 2 * hkv * d, bias=False)
        self.v_proj = nn.Linear(D, 2 * hkv * d, bias=False)
        self.out_proj = nn.Linear(2 * h * d, D, bias=False)
        self.lambda_init = lambda_init_fn(depth)
        self.lambda_q1 = nn.Parameter(torch.zeros(d).normal_(0, 0.1))
        self.lambda_k1 = nn.Parameter(torch.zeros(d).normal_(0, 0.1))
        self.lambda_q2 = nn.Parameter(torch.zeros(d).normal_(0, 0.1))
        self.lambda_k2 = nn.Parameter(torch.zeros(d).normal_(0, 0.1))
        self.subln = RMSNorm(2 * d, 1e-5)

    def forward(self, x):
        B, T, _ = x.shape
        h, hkv, d = self.h, self.hkv, self.d
        q = rope_interleaved(self.q_proj(x).view(B, T, 2 * h, d), self.theta).view(B, T, h, 2, d)
        k = rope_interleaved(self.k_proj(x).view(B, T, 2 * hkv, d), self.theta).view(B, T, hkv, 2, d)
        v = self.v_proj(x).view(B, T, hkv, 2 * d).transpose(1, 2)
        n_rep = h // hkv
        q1, q2 = q[:, :, :, 0].transpose(1, 2), q[:, :, :, 1].transpose(1, 2)
        k1 = repeat_kv(k[:, :, :, 0].transpose(1, 2), n_rep)
        k2 = repeat_kv(k[:, :, :, 1].transpose(1, 2), n_rep)
        s = d ** -0.5
        a1 = causal_softmax(q1 @ k1.transpose(-1, -2) * s)
        a2 = causal_softmax(q2 @ k2.transpose(-1, -2) * s)
        lam = (torch.exp(torch.sum(self.lambda_q1 * self.lambda_k1)) - torch.exp(torch.sum(self.lambda_q2 * self.lambda_k2))
               + self.lambda_init)
        o = (a1 - lam * a2) @ repeat_kv(v, n_rep)                      # (B, h, T, 2d)
        o = self.subln(o) * (1 - self.lambda_init)
        return self.out_proj(o.transpose(1, 2).reshape(B, T, 2 * h * d))


class SwiGLU(nn.Module):
    def __init__(self, D, F_):
        super().__init__()
        self.gate_proj = nn.Linear(D, F_, bias=False)
        self.up_proj = nn.Linear(D, F_, bias=False)
        self.down_proj = nn.Linear(F_, D, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, c, depth):
        super().__init__()
        D = c["d_model"]
        self.attn_norm = RMSNorm(D, c["norm_eps"])
        if c["attention"] == "diff":
            self.attn = DiffAttention(D, c["n_heads"] // 2, c["n_kv_heads"] // 2, depth, c["rope_theta"])
        else:
            self.attn = Attention(D, c["n_heads"], c["n_kv_heads"], c["rope_theta"])
        self.ffn_norm = RMSNorm(D, c["norm_eps"])
        self.ffn = SwiGLU(D, c["ffn_hidden"])

    def forward(self, x):
        y = x + self.attn(self.attn_norm(x))
        return y + self.ffn(self.ffn_norm(y))


class LM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed = nn.Embedding(c["vocab_size"], c["d_model"])
        nn.init.normal_(self.embed.weight, 0, c["d_model"] ** -0.5)
        self.layers = nn.ModuleList(Block(c, i) for i in range(c["n_layers"]))
        self.norm = RMSNorm(c["d_model"], c["norm_eps"])
        self.lm_head = nn.Linear(c["d_model"], c["vocab_size"], bias=False)

    def forward(self, tokens):
        x = self.embed(tokens)
        for layer in self.layers:
            x = layer(x)
        return self.lm_head(self.norm(x))


# ---- safetensors, written by hand (Debian has no safetensors package) ----------------------------
DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}


def save_safetensors(path, tensors, metadata):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        raw = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    os.replace(path + ".tmp", path)


def load_safetensors(path):
    """Reads a safetensors file with the standard library and torch: (tensors, metadata)."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    kinds = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64}
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        buf = bytearray(raw[8 + n + b:8 + n + end])
        out[name] = torch.frombuffer(buf, dtype=kinds[e["dtype"]]).reshape(e["shape"]) if buf else torch.zeros(e["shape"])
    return out, meta


def check_checkpoint(path, text_path, T=128, windows=8):
    """Loads a difft checkpoint into the PyTorch twin (strict) and prints its loss on a text file's
    first windows (byte tokens), to compare with `difft eval --max-windows`."""
    sd, meta = load_safetensors(path)
    c = {k: meta[k] for k in ("attention", "tokenizer")}
    for k in ("vocab_size", "d_model", "n_layers", "n_heads", "n_kv_heads", "ffn_hidden", "max_seq_len"):
        c[k] = int(meta[k])
    c["rope_theta"], c["norm_eps"] = float(meta["rope_theta"]), float(meta["norm_eps"])
    model = LM(c)
    model.load_state_dict(sd, strict=True)          # every name and shape must match
    data = torch.tensor(list(open(text_path, "rb").read()), dtype=torch.int64)
    T = min(T, c["max_seq_len"])
    total, count = 0.0, 0
    with torch.no_grad():
        for w in range(windows):
            x, y = data[w * T:(w + 1) * T][None], data[w * T + 1:(w + 1) * T + 1][None]
            total += float(F.cross_entropy(model(x)[0], y[0], reduction="sum"))
            count += T
    print(f"torch: {path}: loaded strictly ({sum(p.numel() for p in model.parameters())} parameters); "
          f"loss {total / count:.4f} nats/token on {count} tokens of {text_path}")


# ---- fixtures ------------------------------------------------------------------------------
BASE = dict(vocab_size=32, d_model=32, n_layers=2, n_heads=4, ffn_hidden=48, max_seq_len=16, rope_theta=10000.0,
            norm_eps=1e-5, tie_embeddings=False, subln_affine=True, seed=0, tokenizer="byte")
OPT = dict(lr=1e-2, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1, clip=1.0, steps=10)


def make_fixture(name, attention, n_kv_heads, out_dir, seed):
    torch.manual_seed(seed)
    c = dict(BASE, attention=attention, n_kv_heads=n_kv_heads)
    model = LM(c)
    B, T = 2, 12
    tokens = torch.randint(0, c["vocab_size"], (B, T))
    targets = torch.randint(0, c["vocab_size"], (B, T))
    targets[0, 3] = -100  # one ignored target, as cross_entropy's ignore_index
    named = dict(model.named_parameters())
    out = {f"param.{n}": p.detach().clone() for n, p in named.items()}
    out["tokens"], out["targets"] = tokens, targets

    logits = model(tokens)
    loss = F.cross_entropy(logits.view(-1, c["vocab_size"]), targets.view(-1), ignore_index=-100)
    loss.backward()
    out["logits"], out["loss"] = logits.detach(), loss.detach()
    out.update({f"grad.{n}": p.grad.detach().clone() for n, p in named.items()})

    decay = [p for p in named.values() if p.dim() >= 2]
    no_decay = [p for p in named.values() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": OPT["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=OPT["lr"], betas=(OPT["beta1"], OPT["beta2"]), eps=OPT["eps"])
    losses, norms = [], []
    for _ in range(OPT["steps"]):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(tokens).view(-1, c["vocab_size"]), targets.view(-1), ignore_index=-100)
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), OPT["clip"])))
        opt.step()
        losses.append(float(loss))
    out["adamw_losses"] = torch.tensor(losses, dtype=torch.float64)
    out["adamw_grad_norms"] = torch.tensor(norms, dtype=torch.float64)
    out.update({f"final.{n}": p.detach().clone() for n, p in named.items()})
    meta = dict(c, **{f"opt_{k}": v for k, v in OPT.items()}, torch_version=torch.__version__)
    meta["tie_embeddings"] = "false"
    meta["subln_affine"] = "true"
    save_safetensors(os.path.join(out_dir, f"{name}.safetensors"), out, meta)
    print(f"{name}: loss {float(out['loss']):.6f}, 10-step AdamW loss {losses[0]:.4f} -> {losses[-1]:.4f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures"))
    ap.add_argument("--load", metavar="CKPT", help="instead: load a difft model.safetensors into PyTorch and evaluate it")
    ap.add_argument("--text", default=os.path.join(os.path.dirname(__file__), "..", "data", "tinyshakespeare.txt"))
    args = ap.parse_args()
    if args.load:
        check_checkpoint(args.load, args.text)
        return
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    make_fixture("diff_mha", "diff", 4, args.out, seed=1)
    make_fixture("diff_gqa", "diff", 2, args.out, seed=2)
    make_fixture("standard_mha", "standard", 4, args.out, seed=3)
    make_fixture("standard_gqa", "standard", 2, args.out, seed=4)


if __name__ == "__main__":
    main()
