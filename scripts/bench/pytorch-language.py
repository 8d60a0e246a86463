#!/usr/bin/env python3
"""PyTorch peer for the `language` bench: the mini-GPT of resources/templates/mini-gpt.json (token +
learned position embeddings, 2 pre-norm blocks of causal 4-head self-attention and a GELU feed-forward
layer with residual adds, final LayerNorm, Dense to the vocabulary; equal parameter count), trained on the
very same windows of the same token stream that Layerforge trains on (dumped by scripts/bench/language.ts),
with the same settings. Prints one JSON line: test loss and perplexity, training tokens/s (steps only).

usage: pytorch-language.py DIR   (DIR holds meta.json, train.i32, test.i32)
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
from torch import nn

from peer_common import blas




class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.ln1 = nn.LayerNorm(d, eps=1e-3)
        self.att = nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(d, eps=1e-3)
        self.ff = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x, mask):
        h = self.ln1(x)
        x = x + self.att(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.ff(self.ln2(x))


class MiniGPT(nn.Module):
    def __init__(self, vocab, t, d=128, heads=4, blocks=2):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.zeros(t, d))
        nn.init.uniform_(self.pos, -0.05, 0.05)
        self.blocks = nn.ModuleList([Block(d, heads) for _ in range(blocks)])
        self.ln = nn.LayerNorm(d, eps=1e-3)
        self.head = nn.Linear(d, vocab)
        self.register_buffer('mask', torch.triu(torch.ones(t, t, dtype=torch.bool), 1), persistent=False)

    def forward(self, x):
        h = self.tok(x) + self.pos
        for b in self.blocks:
            h = b(h, self.mask)
        return self.head(self.ln(h))


def windows(stream, t):
    n = (len(stream) - 1) // t
    idx = np.arange(n)[:, None] * t + np.arange(t)[None, :]
    return torch.from_numpy(stream[idx].astype(np.int64)), torch.from_numpy(stream[idx + 1].astype(np.int64))


def main():
    d = sys.argv[1]
    meta = json.load(open(f"{d}/meta.json"))
    torch.manual_seed(meta.get("seed", 1))
    torch.set_num_threads(meta.get("threads", 2))
    t, vocab = meta["T"], meta["vocab"]
    xtr, ytr = windows(np.fromfile(f"{d}/train.i32", dtype=np.int32), t)
    xte, yte = windows(np.fromfile(f"{d}/test.i32", dtype=np.int32), t)
    model = MiniGPT(vocab, t)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=meta["lr"], eps=1e-7)
    lossf = nn.CrossEntropyLoss()
    bs = meta["batch"]
    step_s = 0.0
    g = torch.Generator().manual_seed(meta.get("seed", 1))
    for _ in range(meta["epochs"]):
        model.train()
        order = torch.randperm(len(xtr), generator=g)
        for i in range(0, len(xtr), bs):
            idx = order[i:i + bs]
            t0 = time.perf_counter()
            opt.zero_grad()
            out = model(xtr[idx])
            loss = lossf(out.reshape(-1, vocab), ytr[idx].reshape(-1))
            loss.backward()
            opt.step()
            loss.item()
            step_s += time.perf_counter() - t0
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(xte), 64):
            out = model(xte[i:i + 64])
            total += float(nn.functional.cross_entropy(out.reshape(-1, vocab), yte[i:i + 64].reshape(-1), reduction='sum'))
            n += yte[i:i + 64].numel()
    print(json.dumps({"test_loss": total / n, "test_perplexity": math.exp(total / n), "tokens_s": len(xtr) * t * meta["epochs"] / step_s,
                      "params": params, "blas": blas(), "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
