#!/usr/bin/python3
"""PyTorch peer of the `memory` bench (scripts/bench/memory.ts): peak RSS of training the cifar10-cnn
(conv32-pool-conv64-pool-dense128-dense10, the model of ../shared/bench/pytorch-reference.py, 315,722
parameters, Adam 1e-3, batch 64) on all 50,000 CIFAR-10 training images held in memory, the way a
PyTorch user holds them, over the same steps as `layerforge train ... --limit L --epochs E`: each epoch
trains on a fresh permutation of the first L images, then evaluates all 10,000 test images in batches
of 256 (as the CLI validates after every epoch); a last evaluation of the test set follows.

  pytorch-memory.py DIR [--storage uint8|float32] [--epochs 4] [--limit 8192] [--batch 64] [--threads 2]

--storage uint8 (default): the images stay uint8, N x 32 x 32 x 3 (torchvision's CIFAR10 keeps them
  so); each batch is gathered, converted to float and scaled by 1/255 (what Layerforge does).
--storage float32: the whole set converted once to a float32 N x 3 x 32 x 32 tensor / 255 (what
  pytorch-reference.py and most tutorials' TensorDataset code do), in one copy, the uint8 file data
  released (pytorch-reference.py's astype + / 255 makes one float copy more while loading).
Batches come from a torch DataLoader (num_workers=0, the default) over the in-memory tensors, one index
list per batch (BatchSampler over a RandomSampler), so the loader adds no per-sample copies.

The last line printed is JSON: peak RSS (ru_maxrss and VmHWM, MiB), RSS after `import torch`, after
loading, after each epoch, parameter count, images/s in training steps, BLAS (peer_common.blas()).
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SubsetRandomSampler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_common import blas  # noqa: E402

MiB = 1024 * 1024


def status(key):
    """VmRSS / VmHWM of this process in MiB."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1]) / 1024
    return 0.0


def maxrss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def model():
    return nn.Sequential(nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 6 * 6, 128), nn.ReLU(), nn.Linear(128, 10))


def read(d, files, storage):
    """Images and int64 labels from the binary batches. uint8: N x 32 x 32 x 3, channels last, as torchvision's
    CIFAR10 holds them; float32: N x 3 x 32 x 32 (the files' own plane order) / 255, converted in one copy."""
    raw = np.concatenate([np.fromfile(f'{d}/{f}', dtype=np.uint8).reshape(-1, 3073) for f in files])
    labels = torch.from_numpy(raw[:, 0].astype(np.int64))
    planes = raw[:, 1:].reshape(-1, 3, 32, 32)
    if storage == 'uint8':
        images = torch.from_numpy(np.ascontiguousarray(planes.transpose(0, 2, 3, 1)))
    else:
        images = torch.from_numpy(planes).float().div_(255)
    del raw, planes
    return images, labels


class Images(Dataset):
    """In-memory images; indexed by a whole batch of indices at once (the DataLoader's batch_size=None)."""

    def __init__(self, x, y, storage):
        self.x, self.y, self.storage = x, y, storage

    def __len__(self):
        return len(self.y)

    def __getitem__(self, idx):
        idx = torch.as_tensor(idx)
        if self.storage == 'uint8':
            return self.x[idx].permute(0, 3, 1, 2).float().div_(255), self.y[idx]
        return self.x[idx], self.y[idx]


def loader(ds, sampler):
    return DataLoader(ds, sampler=BatchSampler(sampler, batch_size=ds.batch, drop_last=False), batch_size=None, num_workers=0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('dir')
    p.add_argument('--storage', choices=('uint8', 'float32'), default='uint8')
    p.add_argument('--epochs', type=int, default=4)
    p.add_argument('--limit', type=int, default=0, help='train on the first N images each epoch (0: all)')
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--seed', type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rss_import = status('VmRSS')

    xtr, ytr = read(a.dir, [f'data_batch_{i}.bin' for i in range(1, 6)], a.storage)
    xte, yte = read(a.dir, ['test_batch.bin'], a.storage)
    train, test = Images(xtr, ytr, a.storage), Images(xte, yte, a.storage)
    train.batch, test.batch = a.batch, 256
    n = min(a.limit, len(train)) if a.limit > 0 else len(train)
    rss_load = status('VmRSS')

    m = model()
    params = sum(q.numel() for q in m.parameters())
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    lossf = nn.CrossEntropyLoss()
    epochs, train_s, images, acc = [], 0.0, 0, 0.0

    def evaluate():
        m.eval()
        correct = 0
        with torch.no_grad():
            for x, y in loader(test, range(len(test))):
                correct += (m(x).argmax(1) == y).sum().item()
        return correct / len(test)

    for ep in range(a.epochs):
        m.train()
        sampler = SubsetRandomSampler(range(n)) if n < len(train) else RandomSampler(train)
        t = time.perf_counter()
        for x, y in loader(train, sampler):
            opt.zero_grad()
            lossf(m(x), y).backward()
            opt.step()
            images += len(y)
        train_s += time.perf_counter() - t
        acc = evaluate()
        epochs.append(round(status('VmRSS'), 1))
        print(f'epoch {ep + 1}: RSS {epochs[-1]:.1f} MiB, test accuracy {acc:.4f}', flush=True)
    acc = evaluate()
    out = {
        'storage': a.storage,
        'peak_rss_mib': round(max(maxrss(), status('VmHWM')), 1),
        'ru_maxrss_mib': round(maxrss(), 1),
        'vmhwm_mib': round(status('VmHWM'), 1),
        'rss_after_import_mib': round(rss_import, 1),
        'rss_after_load_mib': round(rss_load, 1),
        'rss_per_epoch_mib': epochs,
        'params': params,
        'train_images_per_epoch': n,
        'train_img_s': round(images / train_s, 1) if train_s > 0 else None,
        'test_accuracy': acc,
        'threads': a.threads,
        'torch': torch.__version__,
        'blas': blas(),
    }
    print(json.dumps(out))


if __name__ == '__main__':
    main()
