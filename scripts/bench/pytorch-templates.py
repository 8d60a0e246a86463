#!/usr/bin/python3
"""PyTorch equivalents of Layerforge's templates (resources/templates/*.json), the peers of
`npm run bench`'s templates module, written in the style of ../shared/bench/pytorch-reference.py:
same layers, shapes and parameter counts as the template, the template's batch size, Adam 1e-3,
softmax cross-entropy on logits, synthetic data of the template's input shape and class count.

  pytorch-templates.py throughput [--templates a,b] [--batches 8] [--warmup 2] [--min-seconds 0] [--warmup-seconds 0]
                                  [--infer-images 1024] [--threads 2]
      per template: training images/s (at least --warmup warm-up batches and --warmup-seconds, then at least
      --batches timed batches and --min-seconds; the data's batches are cycled), the minor page faults a timed
      batch took (the bench runs this with PYTORCH_MALLOC_ENV of main/engine/pytorch/mallocEnv.ts) and inference images/s
      (batches of 256, after one warm-up batch)
  pytorch-templates.py params [--templates a,b]
      per template: parameter counts only (compare with `layerforge inspect TEMPLATE --json`)

Parameter counts are Keras-style, as Layerforge's (and tfjs's countParams) are: trainable parameters
plus BatchNorm's moving mean and variance (PyTorch keeps those as buffers, Keras as non-trainable
weights). PyTorch's LSTM has two bias vectors (b_ih and b_hh), Keras's one: b_hh is frozen at zero and
not counted, so the arithmetic is the same as Keras's LSTM.
Keras defaults are kept where they differ from PyTorch's: BatchNorm eps 1e-3 / momentum 0.99,
LayerNorm eps 1e-3. Images are NCHW here (PyTorch's native layout), NHWC in Layerforge.

Needs Debian's PyTorch: apt-get install -y python3-torch (then run with /usr/bin/python3).
Last line printed is a JSON summary, for scripts."""
import argparse, json, resource, time
import torch, torch.nn as nn


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


def conv(cin, cout, k=3, stride=1, bias=False):
    return nn.Conv2d(cin, cout, k, stride, padding=k // 2, bias=bias)


class ResNetSmall(nn.Module):
    """resnet-small: 16-filter stem, two residual blocks, a strided block to 32 with a 1x1 projection."""

    def __init__(self):
        super().__init__()
        self.stem, self.stem_bn = conv(3, 16), bn(16)
        self.conv2, self.bn2, self.conv3, self.bn3 = conv(16, 16), bn(16), conv(16, 16), bn(16)
        self.conv4, self.bn4, self.conv5, self.bn5 = conv(16, 16), bn(16), conv(16, 16), bn(16)
        self.conv6, self.bn6, self.conv7, self.bn7 = conv(16, 32, stride=2), bn(32), conv(32, 32), bn(32)
        self.proj8 = conv(16, 32, k=1, stride=2)
        self.out = nn.Linear(32, 10)

    def forward(self, x):
        r = torch.relu
        x = r(self.stem_bn(self.stem(x)))
        x = r(self.bn3(self.conv3(r(self.bn2(self.conv2(x))))) + x)
        x = r(self.bn5(self.conv5(r(self.bn4(self.conv4(x))))) + x)
        x = r(self.bn7(self.conv7(r(self.bn6(self.conv6(x))))) + self.proj8(x))
        return self.out(x.mean((2, 3)))


class LstmClassifier(nn.Module):
    """lstm-classifier: a 28x28x1 image read as 28 steps of 28 features by an LSTM(64), then Dense(10)."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 64, batch_first=True)
        with torch.no_grad():
            self.lstm.bias_hh_l0.zero_()
        self.lstm.bias_hh_l0.requires_grad_(False)  # Keras's LSTM has one bias (b_ih here)
        self.out = nn.Linear(64, 10)

    def forward(self, x):
        y, _ = self.lstm(x.reshape(-1, 28, 28))
        return self.out(y[:, -1])


class TransformerClassifier(nn.Module):
    """transformer-classifier: embedding(1000, 32) + learned positions, MHA(2 heads x 16) + Add + LayerNorm,
    Dense 64 relu -> Dense 32 + Add + LayerNorm, mean over tokens, Dropout 0.1, Dense 2."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(1000, 32)
        self.pos = nn.Parameter(torch.empty(32, 32).uniform_(-0.3, 0.3))
        self.attn = nn.MultiheadAttention(32, 2, dropout=0.1, batch_first=True)
        self.ln1, self.ln2 = nn.LayerNorm(32, eps=1e-3), nn.LayerNorm(32, eps=1e-3)
        self.ff1, self.ff2 = nn.Linear(32, 64), nn.Linear(64, 32)
        self.drop = nn.Dropout(0.1)
        self.out = nn.Linear(32, 2)

    def forward(self, t):
        x = self.embed(t) + self.pos
        x = self.ln1(self.attn(x, x, x, need_weights=False)[0] + x)
        x = self.ln2(self.ff2(torch.relu(self.ff1(x))) + x)
        return self.out(self.drop(x.mean(1)))


def lenet5():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.AvgPool2d(2), nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84),
                         nn.ReLU(), nn.Linear(84, 10))


def vgg_cnn():
    def block(cin, cout):
        return [conv(cin, cout, bias=True), nn.ReLU(), conv(cout, cout, bias=True), nn.ReLU(), bn(cout), nn.MaxPool2d(2)]
    return nn.Sequential(*block(3, 32), *block(32, 64), *block(64, 128), nn.Flatten(), nn.Linear(128 * 4 * 4, 128),
                         nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))


# name -> (model factory, per-sample input shape (NCHW / token count), classes, batch size from the template, token vocabulary)
TEMPLATES = {
    'resnet-small': (ResNetSmall, (3, 32, 32), 10, 64, None),
    'lstm-classifier': (LstmClassifier, (1, 28, 28), 10, 64, None),
    'transformer-classifier': (TransformerClassifier, (32,), 2, 32, 1000),
    'lenet5': (lenet5, (1, 28, 28), 10, 64, None),
    'vgg-cnn': (vgg_cnn, (3, 32, 32), 10, 64, None),
}


def count(m):
    trainable = sum(p.numel() for p in m.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in m.parameters() if not p.requires_grad)
    bn_stats = sum(b.numel() for n, b in m.named_buffers() if n.endswith('running_mean') or n.endswith('running_var'))
    return {'params': trainable + bn_stats, 'trainable': trainable, 'bn_moving_stats': bn_stats, 'frozen_not_counted': frozen}


def data(shape, classes, vocab, n):
    x = torch.randint(0, vocab, (n, *shape)) if vocab else torch.rand(n, *shape)
    return x, torch.randint(0, classes, (n,))


def bench(name, a):
    make, shape, classes, batch, vocab = TEMPLATES[name]
    m = make(); opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], 1e-3)
    lossf = nn.CrossEntropyLoss()
    pool = max(a.warmup + a.batches, a.pool)  # batches of data, cycled when the time bounds need more steps
    x, y = data(shape, classes, vocab, batch * pool)
    m.train()

    def step(i):
        j = i % pool
        xb, yb = x[j * batch:(j + 1) * batch], y[j * batch:(j + 1) * batch]
        opt.zero_grad(); lossf(m(xb), yb).backward(); opt.step()

    i, t = 0, time.time()
    while i < a.warmup or time.time() - t < a.warmup_seconds: step(i); i += 1
    timed, t, faults = 0, time.time(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    while timed < a.batches or time.time() - t < a.min_seconds: step(i); i += 1; timed += 1
    train = timed * batch / (time.time() - t)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / timed
    xi, _ = data(shape, classes, vocab, a.infer_images)
    m.eval()
    with torch.no_grad():
        m(xi[:256]); t = time.time()
        for i in range(0, a.infer_images, 256): m(xi[i:i + 256])
        infer = a.infer_images / (time.time() - t)
    print(f'{name}: train {train:.0f} img/s (batch {batch}, {faults:.0f} page faults a batch), inference {infer:.0f} img/s', flush=True)
    return {**count(m), 'batch': batch, 'train_batches': timed, 'train_minflt_per_batch': round(faults, 1), 'train_img_s': round(train, 1), 'infer_img_s': round(infer, 1)}


def names(a):
    chosen = a.templates.split(',') if a.templates else list(TEMPLATES)
    unknown = [n for n in chosen if n not in TEMPLATES]
    if unknown: raise SystemExit(f'unknown template(s) {unknown}; known: {", ".join(TEMPLATES)}')
    return chosen


if __name__ == '__main__':
    p = argparse.ArgumentParser(); sub = p.add_subparsers(dest='cmd', required=True)
    t = sub.add_parser('throughput'); t.add_argument('--batches', type=int, default=8); t.add_argument('--warmup', type=int, default=2)
    t.add_argument('--min-seconds', type=float, default=0); t.add_argument('--pool', type=int, default=16); t.add_argument('--warmup-seconds', type=float, default=0)
    t.add_argument('--infer-images', type=int, default=1024)
    c = sub.add_parser('params')
    for s in (t, c):
        s.add_argument('--templates'); s.add_argument('--threads', type=int, default=2); s.add_argument('--seed', type=int, default=0)
    a = p.parse_args(); torch.set_num_threads(a.threads); torch.manual_seed(a.seed)
    if a.cmd == 'params':
        print(json.dumps({'templates': {n: count(TEMPLATES[n][0]()) for n in names(a)}}))
    else:
        print(json.dumps({'threads': a.threads, 'templates': {n: bench(n, a) for n in names(a)}}))
