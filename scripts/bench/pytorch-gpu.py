#!/usr/bin/python3
"""The PyTorch-on-CUDA peer of `npm run bench -- --only gpu`: training images/s of cifar10-cnn (the
reference CNN of ../shared/bench/pytorch-reference.py: conv32-pool-conv64-pool-dense128-dense10) and
resnet-small (pytorch-templates.py's ResNetSmall), batch 64, Adam 1e-3, random data, on torch.cuda.

  pytorch-gpu.py [--templates cifar10-cnn,resnet-small] [--batches 20] [--warmup 3]

Prints {"skipped": why} when torch or CUDA is missing. Last line printed is a JSON summary."""
import argparse, importlib.util, json, os, sys, time

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--templates', default='cifar10-cnn,resnet-small'); p.add_argument('--batches', type=int, default=20)
    p.add_argument('--warmup', type=int, default=3)
    a = p.parse_args()
    try:
        import torch, torch.nn as nn
    except ImportError as e:
        print(json.dumps({'skipped': f'PyTorch is not installed ({e})'})); return
    if not torch.cuda.is_available():
        print(json.dumps({'skipped': 'torch.cuda is not available (no NVIDIA GPU, driver or CUDA build of torch)'})); return
    spec = importlib.util.spec_from_file_location('pt_templates', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'pytorch-templates.py'))
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    models = {
        'cifar10-cnn': lambda: nn.Sequential(nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                                             nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 6 * 6, 128), nn.ReLU(), nn.Linear(128, 10)),
        'resnet-small': mod.ResNetSmall,
    }
    dev = torch.device('cuda'); out = {'device': torch.cuda.get_device_name(0), 'templates': {}}
    for name in a.templates.split(','):
        m = models[name]().to(dev); opt = torch.optim.Adam(m.parameters(), 1e-3); lossf = nn.CrossEntropyLoss(); m.train()
        x = torch.rand(64, 3, 32, 32, device=dev); y = torch.randint(0, 10, (64,), device=dev)
        def step():
            opt.zero_grad(); lossf(m(x), y).backward(); opt.step()
        for _ in range(a.warmup): step()
        torch.cuda.synchronize(); t = time.time()
        for _ in range(a.batches): step()
        torch.cuda.synchronize(); s = a.batches * 64 / (time.time() - t)
        print(f'{name}: train {s:.0f} img/s on {out["device"]}', flush=True)
        out['templates'][name] = {'train_img_s': round(s, 1)}
    print(json.dumps(out))

main()
