"""Small ONNX fixtures from PyTorch (Debian's torch 1.13, torch.onnx.export) for the ONNX importer's tests.

Run with /usr/bin/python3 from this folder: python3 make.py
Writes <name>.onnx and <name>.json (the inputs fed and the outputs torch computed, NCHW as torch gives them).
Weights are random but seeded, batch norms get non-trivial running statistics, so parity tests mean something.
"""
import json
import os
import sys

import torch
from torch import nn

torch.manual_seed(0)
HERE = os.path.dirname(os.path.abspath(__file__))


class CnnBn(nn.Module):
    """Conv/BN/ReLU, max and average pooling, a stride-2 conv with PyTorch's symmetric padding, Flatten of an NCHW map into Linear."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.b1 = nn.BatchNorm2d(8)
        self.p1 = nn.MaxPool2d(2)
        self.c2 = nn.Conv2d(8, 12, 3, stride=2, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(12)
        self.p2 = nn.AvgPool2d(2)
        self.fc = nn.Linear(12 * 2 * 2, 10)

    def forward(self, x):
        x = self.p1(torch.relu(self.b1(self.c1(x))))
        x = self.p2(torch.relu(self.b2(self.c2(x))))
        return torch.softmax(self.fc(torch.flatten(x, 1)), dim=1)


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 16), nn.Tanh(), nn.Linear(16, 3), nn.Sigmoid())

    def forward(self, x):
        return self.net(x)


class LstmLast(nn.Module):
    """LSTM (batch first), its last hidden state h_n[-1] into a Linear."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(6, 8, batch_first=True)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        _, (h, _) = self.rnn(x)
        return self.fc(h[-1])


class LstmSeq(nn.Module):
    """LSTM returning every step, a Linear applied per step (MatMul on [N, T, H] + Add)."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(5, 7, batch_first=True)
        self.fc = nn.Linear(7, 3)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.fc(y)


class GruLast(nn.Module):
    """GRU (PyTorch's is reset-after: ONNX linear_before_reset=1)."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(6, 8, batch_first=True)
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        _, h = self.rnn(x)
        return self.fc(h[-1])


class BiLstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(4, 5, batch_first=True, bidirectional=True)

    def forward(self, x):
        y, _ = self.rnn(x)
        return y


class Decoder(nn.Module):
    """ConvTranspose (k4 s2 p1: tfjs 'same'), LeakyReLU, nearest Upsample x2, a 1x1 conv and a sigmoid: an NCHW image out."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(4, 8, 3, padding=1)
        self.t1 = nn.ConvTranspose2d(8, 6, 4, stride=2, padding=1)
        self.up = nn.Upsample(scale_factor=2, mode='nearest')
        self.c2 = nn.Conv2d(6, 1, 1)

    def forward(self, x):
        x = torch.relu(self.c1(x))
        x = nn.functional.leaky_relu(self.t1(x), 0.2)
        return torch.sigmoid(self.c2(self.up(x)))


class ResBlock(nn.Module):
    """Zero padding then a valid conv, a residual Add, ReLU6 (Clip), global average pooling, Linear."""

    def __init__(self):
        super().__init__()
        self.pad = nn.ZeroPad2d(1)
        self.c0 = nn.Conv2d(3, 8, 3)
        self.c1 = nn.Conv2d(8, 8, 3, padding=1)
        self.b1 = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1)
        self.b2 = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = torch.relu(self.c0(self.pad(x)))
        y = torch.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        x = nn.functional.relu6(x + y)
        x = self.dw(x)
        x = nn.functional.adaptive_avg_pool2d(x, 1)
        return self.fc(torch.flatten(x, 1))


class Conv1dNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(3, 6, 5, padding=2)
        self.p = nn.MaxPool1d(2)
        self.c2 = nn.Conv1d(6, 8, 3)
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        x = self.p(torch.relu(self.c1(x)))
        x = torch.relu(self.c2(x))
        return self.fc(x.mean(dim=2))


class DynCnn(nn.Module):
    """An image of any size (symbolic height and width): conv, GELU, global average pooling."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        x = nn.functional.gelu(self.c(x))
        return self.fc(nn.functional.adaptive_avg_pool2d(x, 1).flatten(1))


class Grouped(nn.Module):
    """Refused: a grouped convolution (2 groups of 4 channels)."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(8, 8, 3, groups=2)

    def forward(self, x):
        return self.c(x)


class Bilinear(nn.Module):
    """Refused: bilinear upsampling with align_corners=False (half-pixel centres, which tfjs's UpSampling2D does not use)."""

    def forward(self, x):
        return nn.functional.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)


class DecoderBlock(nn.Module):
    """Pre-norm decoder block: causal nn.MultiheadAttention (batch_first, one packed in_proj), residual, LayerNorm, Linear head."""

    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(16)
        self.mha = nn.MultiheadAttention(16, 4, batch_first=True)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        t = x.shape[1]
        mask = torch.triu(torch.full((t, t), float('-inf')), 1)
        h = self.norm(x)
        return self.head(x + self.mha(h, h, h, need_weights=False, attn_mask=mask)[0])


class CrossAttention(nn.Module):
    """Queries from the sequence, keys/values from a Linear of it (kdim = vdim != embed_dim: three separate projections), no biases."""

    def __init__(self):
        super().__init__()
        self.mem = nn.Linear(16, 12)
        self.mha = nn.MultiheadAttention(16, 2, kdim=12, vdim=12, bias=False, batch_first=True)

    def forward(self, x):
        m = torch.tanh(self.mem(x))
        return self.mha(x, m, m, need_weights=False)[0]


class SeqFirst(nn.Module):
    """nn.MultiheadAttention as PyTorch makes it by default (batch_first=False): the input is [T, N, E]."""

    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(16, 2, dropout=0.1)

    def forward(self, x):
        return self.mha(x, x, x, need_weights=False)[0]


def attention_models():
    """Made after the others, from their own seed, so adding them changes none of the earlier fixtures."""
    torch.manual_seed(1)
    return [
        ('mha_decoder', DecoderBlock(), (1, 6, 16), 17, None),
        ('mha_cross', CrossAttention(), (1, 7, 16), 17, None),
        ('mha_seq_first', SeqFirst(), (6, 1, 16), 14, None),
    ]


MODELS = [
    # name, module, input shape, opset, dynamic axes
    ('cnn_bn', CnnBn(), (2, 3, 16, 16), 13, None),
    ('mlp', Mlp(), (3, 20), 11, {'input': {0: 'batch'}}),
    ('lstm_last', LstmLast(), (2, 9, 6), 14, None),
    ('lstm_seq', LstmSeq(), (2, 6, 5), 17, None),
    ('gru_last', GruLast(), (2, 7, 6), 13, None),
    ('bilstm', BiLstm(), (2, 5, 4), 13, None),
    ('decoder', Decoder(), (1, 4, 6, 6), 13, None),
    ('resblock', ResBlock(), (2, 3, 10, 10), 12, None),
    ('conv1d', Conv1dNet(), (2, 3, 20), 17, None),
    ('dyn_cnn', DynCnn(), (1, 3, 12, 12), 17, {'input': {0: 'batch', 2: 'height', 3: 'width'}}),
    ('grouped_conv', Grouped(), (1, 8, 6, 6), 13, None),
    ('bilinear', Bilinear(), (1, 2, 4, 4), 13, None),
]


def main():
    """python3 make.py [NAME ...]: every fixture, or only those named."""
    only = set(sys.argv[1:])
    for name, model, shape, opset, dyn in MODELS + attention_models():
        if only and name not in only:
            continue
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                nn.init.uniform_(m.weight, 0.5, 1.5)
                nn.init.uniform_(m.bias, -0.2, 0.2)
        model.eval()
        x = torch.randn(*shape)
        with torch.no_grad():
            y = model(x)
        path = os.path.join(HERE, f'{name}.onnx')
        torch.onnx.export(model, (x,), path, input_names=['input'], output_names=['output'], opset_version=opset,
                          do_constant_folding=True, dynamic_axes=dyn)
        ref = {
            'torch': torch.__version__, 'opset': opset,
            'inputs': {'input': {'shape': list(x.shape), 'data': [float(f'{v:.9g}') for v in x.flatten().tolist()]}},
            'outputs': {'output': {'shape': list(y.shape), 'data': [float(f'{v:.9g}') for v in y.flatten().tolist()]}},
        }
        with open(os.path.join(HERE, f'{name}.json'), 'w') as f:
            json.dump(ref, f)
        print(name, os.path.getsize(path), 'bytes')


if __name__ == '__main__':
    main()
