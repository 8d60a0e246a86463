#!/usr/bin/env python3
"""PyTorch peer for the `text` bench: the text-lstm template (resources/templates/text-lstm.json, fitted to
the dataset: Embedding(V, 64) -> bidirectional LSTM(64 each way, the last state of each direction
concatenated) -> Dropout 0.3 -> Dense to the classes, softmax cross-entropy), trained on the very same
token ids, labels and train/test split that Layerforge trains on (dumped by scripts/bench/text.ts from the
engine's dataset cache), with the same settings (Adam with eps 1e-7, learning rate, batch, epochs).

What the LSTM sees is what ours sees: every text padded (id 0, at the end) or cut to T tokens, no packing and
no mask, so the forward direction reads the trailing padding and the backward direction starts on it.
PyTorch's LSTM has two bias vectors (b_ih, b_hh) and Keras's one: b_hh is frozen at zero and not counted,
so the arithmetic and the parameter count are Keras's. The parameter count must equal meta.json's `params`
(ours): the script exits 2 when it does not.

The model is trained once per initialisation in meta.json's `inits` (default both, in this order): "keras",
Layerforge's own (tfjs's Keras defaults: embedding U(-0.05, 0.05), glorot-uniform kernels, the recurrent
kernel glorot-uniform as Layerforge's LSTM builds it, zero biases, no forget-gate bias), so the comparison
measures the engine and not the initialisation; and "torch", PyTorch's defaults (embedding N(0, 1), LSTM and
Linear U(+-1/sqrt(fan_in))), what a PyTorch user gets. Each run starts from torch.manual_seed(seed).

Also two sanity lines on the same ids: a bag-of-words logistic regression (binary word presence over the
vocabulary, PAD left out; Adam 0.01, batch 32, 20 epochs) and the majority class of the training split.

Replay (`pytorch-text.py replay DIR`): one epoch from Layerforge's own initial weights (init.json + init.f32:
each weight's tfjs name, shape and offset), in Layerforge's batch order (order.i32), dropout 0: with the same
weights and batches the two must agree step for step, so the test loss after the epoch (printed with the first
batch's loss) tells the engine's arithmetic apart from the luck of the initial draw and the batch order.

usage: pytorch-text.py DIR          (DIR holds meta.json, train_x.i32, train_y.i32, test_x.i32, test_y.i32)
       pytorch-text.py replay DIR   (the same, plus init.json, init.f32, order.i32)
meta.json: {T, vocab, classes, params, lr, batch, epochs, seed, threads, inits?: ["keras", "torch"],
            baselines?: true (false: no bag-of-words run), embed?: 64, units?: 64, dropout?: 0.3}
Prints one JSON line: {runs: {INIT: {accuracy, history (test accuracy after each epoch), samples_s (training
steps only), params}}, bow_accuracy (null without baselines), majority_class, majority_accuracy, blas, threads, torch}.
"""
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

from peer_common import blas




class TextLstm(nn.Module):
    def __init__(self, vocab, classes, embed=64, units=64, dropout=0.3, init='torch'):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, units, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(2 * units, classes)
        for name, p in self.lstm.named_parameters():
            if name.startswith('bias_hh'):
                nn.init.zeros_(p)
                p.requires_grad_(False)
        if init == 'keras':
            nn.init.uniform_(self.embed.weight, -0.05, 0.05)
            for name, p in self.lstm.named_parameters():
                if name.startswith('weight_'):
                    # Keras's kernel is (F, 4U), glorot over fan_in F and fan_out 4U: PyTorch's (4U, F) gives the same.
                    nn.init.xavier_uniform_(p)
                elif name.startswith('bias_ih'):
                    nn.init.zeros_(p)
            nn.init.xavier_uniform_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    def forward(self, x):
        _, (h, _) = self.lstm(self.embed(x))
        # h: (2, batch, units): the forward direction's state after step T-1, the backward one's after step 0.
        return self.out(self.drop(torch.cat([h[0], h[1]], dim=1)))


def trainable(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def accuracy(model, x, y, bs=256):
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + bs]).argmax(1) for i in range(0, len(x), bs)])
    return float((pred == y).float().mean())


def fit(model, xtr, ytr, xte, yte, lr, bs, epochs, seed):
    """Adam (eps 1e-7, as tfjs's), shuffled batches, softmax cross-entropy; the test split is evaluated after
    every epoch as Layerforge validates on it. Returns (final test accuracy, per-epoch accuracies, samples/s)."""
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr, eps=1e-7)
    lossf = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(seed)
    step_s, seen, history = 0.0, 0, []
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(xtr), generator=g)
        for i in range(0, len(xtr), bs):
            idx = order[i:i + bs]
            t0 = time.perf_counter()
            opt.zero_grad()
            loss = lossf(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            loss.item()
            step_s += time.perf_counter() - t0
            seen += len(idx)
        history.append(accuracy(model, xte, yte))
    return history[-1], history, seen / step_s


def load_keras_weights(model, d):
    """Layerforge's initial weights, named by text.ts (embedding, forward/kernel, forward/recurrent_kernel,
    forward/bias, backward/…, dense/kernel, dense/bias), in tfjs's layout: kernels are (in, out) and the LSTM's
    gates are i, f, c, o, PyTorch's i, f, g, o order."""
    specs = json.load(open(f"{d}/init.json"))
    blob = np.fromfile(f"{d}/init.f32", dtype=np.float32)
    w = {s["name"]: torch.from_numpy(blob[s["offset"]:s["offset"] + s["size"]].reshape(s["shape"]).copy()) for s in specs}
    with torch.no_grad():
        model.embed.weight.copy_(w["embedding"])
        for direction, sfx in (("forward", ""), ("backward", "_reverse")):
            getattr(model.lstm, "weight_ih_l0" + sfx).copy_(w[f"{direction}/kernel"].T)
            getattr(model.lstm, "weight_hh_l0" + sfx).copy_(w[f"{direction}/recurrent_kernel"].T)
            getattr(model.lstm, "bias_ih_l0" + sfx).copy_(w[f"{direction}/bias"])
        model.out.weight.copy_(w["dense/kernel"].T)
        model.out.bias.copy_(w["dense/bias"])


def replay(d, meta, xtr, ytr, xte, yte):
    model = TextLstm(meta["vocab"], meta["classes"], meta.get("embed", 64), meta.get("units", 64), 0.0, "keras")
    load_keras_weights(model, d)
    order = torch.from_numpy(np.fromfile(f"{d}/order.i32", dtype=np.int32).astype(np.int64))
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=meta["lr"], eps=1e-7)
    lossf = nn.CrossEntropyLoss()
    first = None
    model.train()
    for i in range(0, len(order), meta["batch"]):
        idx = order[i:i + meta["batch"]]
        opt.zero_grad()
        loss = lossf(model(xtr[idx]), ytr[idx])
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    model.eval()
    with torch.no_grad():
        out = model(xte)
    print(json.dumps({"first_batch_loss": first, "test_loss": float(lossf(out, yte)), "test_accuracy": float((out.argmax(1) == yte).float().mean()),
                      "steps": (len(order) + meta["batch"] - 1) // meta["batch"], "params": trainable(model)}))


def main():
    replaying = sys.argv[1] == "replay"
    d = sys.argv[2] if replaying else sys.argv[1]
    meta = json.load(open(f"{d}/meta.json"))
    seed = meta.get("seed", 1)
    torch.manual_seed(seed)
    torch.set_num_threads(meta.get("threads", 2))
    t, vocab, classes = meta["T"], meta["vocab"], meta["classes"]
    load = lambda name, shape: torch.from_numpy(np.fromfile(f"{d}/{name}", dtype=np.int32).astype(np.int64).reshape(shape))
    xtr, ytr = load("train_x.i32", (-1, t)), load("train_y.i32", (-1,))
    xte, yte = load("test_x.i32", (-1, t)), load("test_y.i32", (-1,))
    if len(xtr) != len(ytr) or len(xte) != len(yte):
        sys.exit(f"pytorch-text.py: {len(xtr)} training rows but {len(ytr)} labels, {len(xte)} test rows but {len(yte)} labels")
    if replaying:
        return replay(d, meta, xtr, ytr, xte, yte)

    runs = {}
    for init in meta.get("inits", ["keras", "torch"]):
        torch.manual_seed(seed)
        model = TextLstm(vocab, classes, meta.get("embed", 64), meta.get("units", 64), meta.get("dropout", 0.3), init)
        params = trainable(model)
        if params != meta["params"]:
            print(f"pytorch-text.py: the PyTorch model has {params} parameters, Layerforge's {meta['params']}: not the same shape", file=sys.stderr)
            sys.exit(2)
        acc, history, samples_s = fit(model, xtr, ytr, xte, yte, meta["lr"], meta["batch"], meta["epochs"], seed)
        runs[init] = {"accuracy": acc, "history": history, "samples_s": samples_s, "params": params}

    bow_acc = None
    if meta.get("baselines", True):
        # Bag-of-words logistic regression on the same (cut) ids: binary presence, PAD (id 0) left out.
        def bow(x):
            m = torch.zeros(len(x), vocab)
            m.scatter_(1, x, 1.0)
            m[:, 0] = 0
            return m
        torch.manual_seed(seed)
        bow_acc, _, _ = fit(nn.Linear(vocab, classes), bow(xtr), ytr, bow(xte), yte, 0.01, 32, 20, seed)

    majority = int(torch.bincount(ytr, minlength=classes).argmax())
    print(json.dumps({
        "runs": runs,
        "bow_accuracy": bow_acc,
        "majority_class": majority, "majority_accuracy": float((yte == majority).float().mean()),
        "blas": blas(), "threads": torch.get_num_threads(), "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
