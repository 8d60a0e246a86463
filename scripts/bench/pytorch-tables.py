#!/usr/bin/env python3
"""PyTorch peer for the `tables` bench: the same MLP as resources/templates/tabular-*.json
(Dense 64 relu -> Dropout 0.1 -> Dense 32 relu -> output), trained on the very same standardised
split that Layerforge trains on (dumped by scripts/bench/tables.ts as raw float32 files), with the
same settings (Adam, lr, batch, epochs). Prints one JSON line: test metrics, rows/s in training steps.

usage: pytorch-tables.py DIR   (DIR holds meta.json, train_x.f32, train_y.f32, test_x.f32, test_y.f32)
"""
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

from peer_common import blas




def main():
    d = sys.argv[1]
    meta = json.load(open(f"{d}/meta.json"))
    torch.manual_seed(meta.get("seed", 1))
    torch.set_num_threads(meta.get("threads", 2))
    f = meta["features"]
    load = lambda name, shape: torch.from_numpy(np.fromfile(f"{d}/{name}", dtype=np.float32).reshape(shape))
    xtr, ytr = load("train_x.f32", (-1, f)), load("train_y.f32", (-1,))
    xte, yte = load("test_x.f32", (-1, f)), load("test_y.f32", (-1,))
    regression = meta["task"] == "regression"
    k = 1 if regression else meta["classes"]
    model = nn.Sequential(nn.Linear(f, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, k))
    opt = torch.optim.Adam(model.parameters(), lr=meta["lr"])
    loss_fn = nn.MSELoss() if regression else nn.CrossEntropyLoss()
    ytr_t = ytr if regression else ytr.long()
    bs, n = meta["batch"], xtr.shape[0]
    step_s = 0.0
    t_all = time.perf_counter()
    g = torch.Generator().manual_seed(meta.get("seed", 1))
    for _ in range(meta["epochs"]):
        model.train()
        order = torch.randperm(n, generator=g)
        for i in range(0, n, bs):
            idx = order[i:i + bs]
            t0 = time.perf_counter()
            opt.zero_grad()
            out = model(xtr[idx])
            loss = loss_fn(out.squeeze(1) if regression else out, ytr_t[idx])
            loss.backward()
            opt.step()
            loss.item()
            step_s += time.perf_counter() - t0
        model.eval()
        with torch.no_grad():  # evaluate every epoch, as Layerforge validates on the test split every epoch
            model(xte)
    wall = time.perf_counter() - t_all
    model.eval()
    with torch.no_grad():
        out = model(xte)
    res = {"rows_s": n * meta["epochs"] / step_s, "wall_s": wall, "threads": torch.get_num_threads()}
    if regression:
        pred = out.squeeze(1).numpy() * meta["y_std"] + meta["y_mean"]
        truth = yte.numpy() * meta["y_std"] + meta["y_mean"]
        sse = float(((pred - truth) ** 2).sum())
        sst = float(((truth - truth.mean()) ** 2).sum())
        res.update(r2=1 - sse / sst, mae=float(np.abs(pred - truth).mean()), rmse=float(np.sqrt(sse / len(truth))))
    else:
        res.update(accuracy=float((out.argmax(1) == yte.long()).float().mean()))
    res["blas"] = blas()
    print(json.dumps(res))


if __name__ == "__main__":
    main()
