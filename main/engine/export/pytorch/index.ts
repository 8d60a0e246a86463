import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { activationOf, exportGraphOfFolder, freshName, identifier, UnsupportedLayersError, type ExportGraph, type ExportLayer } from '../exportGraph';
import { tableReadme, writePreprocessingJson } from '../tableDocs';
import { textNote, textReadme, writeTokenizerJson } from '../textDocs';
import type { ExportFormat } from '../types';
import { HELPERS, PYTORCH_LAYERS, torchActivation, type TorchCode } from './layers';
import { encodeSafetensors, type SafeTensor } from './safetensors';

const PY_KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield self input'.split(' '),
);

export function pyName(name: string): string {
  const id = identifier(name);
  return PY_KEYWORDS.has(id) ? `${id}_` : id;
}

export interface PytorchExport {
  modelPy: string;
  readme: string;
  weights: Uint8Array;
  /** state_dict keys written, in order. */
  keys: string[];
}

export function pytorchUnsupported(g: ExportGraph): { name: string; type: string; reason: string }[] {
  return g.layers.flatMap((l) => {
    const entry = PYTORCH_LAYERS[l.type];
    if (!entry) return [{ name: l.name, type: l.type, reason: 'no PyTorch exporter for this layer type yet' }];
    return 'unsupported' in entry ? [{ name: l.name, type: l.type, reason: entry.unsupported }] : [];
  });
}

export interface PytorchBuildOptions {
  /**
   * Gives Model.forward a `logits=False` argument: with logits=True an output layer ending in softmax or sigmoid
   * returns its input to that activation (the training bundle's loss works on logits, as our trainer's does).
   */
  logits?: boolean;
}

const entry = (layer: ExportLayer) => PYTORCH_LAYERS[layer.type] as { supported: (l: ExportLayer) => TorchCode };

/** The output activation a loss on logits strips ('softmax' or 'sigmoid'), or null when the layer has none. */
function strippableHead(layer: ExportLayer): 'softmax' | 'sigmoid' | null {
  const a = activationOf(layer.config);
  return a === 'softmax' || a === 'sigmoid' ? a : null;
}

/**
 * Generates model.py (nn.Module `Model`), README.md and weights.safetensors for a graph with trained
 * weights. A table model (`g.table`) gets its normalisation as buffers of Model, saved in the
 * safetensors: `feature_mean`/`feature_std` applied to the input first, and for regression
 * `target_mean`/`target_std` applied to the output last.
 */
export function buildPytorch(g: ExportGraph, opts: PytorchBuildOptions = {}): PytorchExport {
  const bad = pytorchUnsupported(g);
  if (bad.length) throw new UnsupportedLayersError('PyTorch', bad);
  const codes = new Map<string, TorchCode>();
  const failures: typeof bad = [];
  for (const layer of g.layers) {
    const entry = PYTORCH_LAYERS[layer.type]!;
    if (!('supported' in entry)) continue;
    try {
      codes.set(layer.name, entry.supported(layer));
    } catch (error) {
      failures.push({ name: layer.name, type: layer.type, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  if (failures.length) throw new UnsupportedLayersError('PyTorch', failures);

  const init: string[] = [];
  const forward: string[] = [];
  const tensors: Record<string, SafeTensor> = {};
  const helpers = new Set<string>();
  for (const layer of g.layers) {
    const code = codes.get(layer.name)!;
    const v = pyName(layer.name);
    if (code.module) init.push(`        self.${v} = ${code.module}  # ${layer.type}`);
    for (const t of code.tensors) tensors[`${v}.${t.key}`] = { dtype: 'F32', shape: t.shape, data: t.values };
    if (/BatchNorm/.test(code.module ?? '')) tensors[`${v}.num_batches_tracked`] = { dtype: 'I64', shape: [], data: new BigInt64Array(1) };
    for (const h of code.helpers ?? []) helpers.add(h);
    if (layer.type === 'Input') continue;
    const head = opts.logits && g.outputs.includes(layer.name) ? strippableHead(layer) : null;
    if (head) {
      // forward(..., logits=True) skips the output's softmax/sigmoid: a loss on logits (train.py) uses the stable fused form.
      const linear = entry(layer).supported({ ...layer, config: { ...layer.config, activation: 'linear' } });
      forward.push(`        ${v} = ${linear.forward(`self.${v}`, layer.inputs.map(pyName))}`);
      forward.push(`        if not logits:`);
      forward.push(`            ${v} = ${torchActivation(head, v, layer.outputShape.length === 3 ? 1 : -1)}`);
      continue;
    }
    forward.push(`        ${v} = ${code.forward(`self.${v}`, layer.inputs.map(pyName))}`);
  }
  const args = g.inputs.map(pyName);
  const outs = g.outputs.map(pyName);
  const t = g.table;
  if (t) {
    const taken = new Set(g.layers.map((l) => pyName(l.name)));
    const buffer = (hint: string, values: number[], doc: string) => {
      const name = freshName(taken, hint);
      init.push(`        self.register_buffer('${name}', torch.zeros(${values.length}))  # ${doc}`);
      tensors[name] = { dtype: 'F32', shape: [values.length], data: Float32Array.from(values) };
      return `self.${name}`;
    };
    const x = pyName(t.input);
    const [mean, std] = [buffer('feature_mean', t.mean, 'table features: x\' = (x - mean) / std'), buffer('feature_std', t.std, 'per encoded feature')];
    forward.unshift(`        ${x} = (${x} - ${mean}) / ${std}  # raw encoded features -> the standardised ones the layers were trained on`);
    if (t.output) {
      const y = pyName(t.output.name);
      const [m, s] = [buffer('target_mean', [t.output.mean], 'regression target: y = y\' * std + mean'), buffer('target_std', [t.output.std], 'in the target\'s units')];
      forward.push(`        ${y} = ${y} * ${s} + ${m}  # back to the target's units`);
    }
  }
  const byName = new Map(g.layers.map((l) => [l.name, l]));
  const describe = (n: string) => {
    const l = byName.get(n)!;
    const s = l.outputShape;
    const torchShape = s.length === 3 ? [s[2], s[0], s[1]] : s;
    return `${pyName(n)}: [N, ${torchShape.join(', ')}]${l.dtype === 'int32' ? ' token ids (integers)' : ''}${s.length === 3 ? ' (NCHW)' : ''}`;
  };
  const modelPy = `"""${g.name}: a PyTorch model generated by Layerforge from a trained TensorFlow.js model.

Inputs:  ${g.inputs.map(describe).join('; ')}
Outputs: ${g.outputs.map(describe).join('; ')}
Images are channels-first (NCHW), PyTorch's layout; sequences are batch-first [N, T, F]; feature vectors (table rows) are [N, F].${t ? '\nTable model: takes the raw encoded features and normalises them itself (buffers feature_mean, feature_std); see README.md.' : ''}${g.text ? `\nText model: takes token ids [N, ${g.text.length}] from tokenizer.json (padded at the end with PAD = 0); see README.md.` : ''}

    from model import load
    model = load()          # builds Model() and loads weights.safetensors from this folder
    model.eval()
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

${[...helpers].map((h) => `${HELPERS[h]}\n\n`).join('')}
class Model(nn.Module):
    """Mirrors the Layerforge graph: one attribute per layer, named as in the project."""

    def __init__(self):
        super().__init__()
${init.length ? init.join('\n') : '        pass'}

    def forward(self, ${args.join(', ')}${opts.logits ? ', logits=False' : ''}):
${forward.join('\n')}
        return ${outs.join(', ')}


def read_safetensors(path):
    """Reads a .safetensors file: with the safetensors package when installed, else by hand (same format)."""
    try:
        from safetensors.torch import load_file
    except ImportError:
        load_file = None
    if load_file is not None:
        return load_file(path)
    dtypes = {'F32': '<f4', 'F64': '<f8', 'I64': '<i8', 'I32': '<i4'}
    with open(path, 'rb') as f:
        (n,) = struct.unpack('<Q', f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        begin, end = info['data_offsets']
        array = np.frombuffer(data[begin:end], dtype=dtypes[info['dtype']]).reshape(info['shape'])
        tensors[name] = torch.from_numpy(array.astype(array.dtype.newbyteorder('=')).copy())
    return tensors


def load(path=None):
    """Builds Model() and loads its trained weights (default: weights.safetensors beside this file)."""
    if path is None:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'weights.safetensors')
    model = Model()
    model.load_state_dict(read_safetensors(path))
    return model


if __name__ == '__main__':
    model = load().eval()
    print(model)
`;
  const readme = `# ${g.name} — PyTorch export

Generated by Layerforge from the trained model.

- \`model.py\`: \`Model\`, an \`nn.Module\` mirroring the graph (attributes named after the layers), and
  \`load(path=None)\`, which builds it and loads \`weights.safetensors\` from this folder.
- \`weights.safetensors\`: the trained weights (safetensors format; the \`safetensors\` package is used
  when installed, otherwise \`model.py\` reads the file itself with numpy).

## Input layout

PyTorch's layout: **images are NCHW** (\`[N, C, H, W]\`), not TensorFlow's NHWC; convert with
\`x.permute(0, 3, 1, 2)\`. Sequences are batch-first \`[N, T, F]\`; token ids are integer tensors \`[N, T]\`;
feature vectors (table rows) are float tensors \`[N, F]\`.

- Inputs: ${g.inputs.map(describe).join('; ')}
- Outputs: ${g.outputs.map(describe).join('; ')}

Outputs are what the last layer gives (e.g. softmax probabilities, not logits): to keep training with
\`nn.CrossEntropyLoss\`, use \`torch.log(probs)\` with \`nn.NLLLoss\`, or drop the final softmax.

\`\`\`python
import torch
from model import load

model = load().eval()
with torch.no_grad():
    y = model(${g.inputs.map((n) => `torch.zeros(1, ${(() => { const s = byName.get(n)!.outputShape; return (s.length === 3 ? [s[2], s[0], s[1]] : s).join(', '); })()})`).join(', ')})
\`\`\`

${t ? `${tableReadme(g, 'pytorch')}\n` : ''}${g.text ? `${textReadme(g, 'pytorch')}\n` : ''}## Training further

\`\`\`python
model = load().train()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for x, y in loader:                 # x: ${t ? 'raw encoded features [N, F]' : g.text ? `token ids [N, ${g.text.length}]${g.text.head === 'language-model' ? ', y: the next ids [N, ' + g.text.length + ']' : ''}` : 'NCHW float tensors'}
    optimizer.zero_grad()
    loss = ${
      g.text?.head === 'language-model'
        ? g.text.activation === 'softmax'
          ? 'torch.nn.functional.nll_loss(torch.log(model(x) + 1e-7).transpose(1, 2), y)'
          : 'torch.nn.functional.cross_entropy(model(x).transpose(1, 2), y)  # the output is logits'
        : t?.head === 'regression'
        ? 'torch.nn.functional.mse_loss(model(x)[:, 0], y)  # y in the target\'s units'
        : t?.head === 'binary'
          ? 'torch.nn.functional.binary_cross_entropy(model(x)[:, 0], y.float())  # y: 0 or 1'
          : 'torch.nn.functional.nll_loss(torch.log(model(x) + 1e-7), y)'
    }
    loss.backward()
    optimizer.step()
torch.save(model.state_dict(), 'weights.pt')
\`\`\`

## Several machines (torchrun + DistributedDataParallel)

\`\`\`python
# train_ddp.py
import os, torch, torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
from model import load

dist.init_process_group('nccl' if torch.cuda.is_available() else 'gloo')
local_rank = int(os.environ['LOCAL_RANK'])
device = torch.device('cuda', local_rank) if torch.cuda.is_available() else torch.device('cpu')
model = DDP(load().to(device), device_ids=[local_rank] if device.type == 'cuda' else None)
# use torch.utils.data.distributed.DistributedSampler(dataset) in your DataLoader
# ... the training loop above ...
dist.destroy_process_group()
\`\`\`

Run on each of 2 machines with 4 GPUs each (\`--node_rank\` 0 and 1):

\`\`\`sh
torchrun --nnodes=2 --nproc_per_node=4 --node_rank=0 --master_addr=HOST0 --master_port=29500 train_ddp.py
\`\`\`
`;
  return { modelPy, readme, weights: encodeSafetensors(tensors, { format: 'pt', producer: 'Layerforge' }), keys: Object.keys(tensors) };
}

export const pytorchFormat: ExportFormat = {
  id: 'pytorch',
  label: 'PyTorch (model.py + weights.safetensors)',
  extension: '',
  async export(_tf, folder, outPath) {
    const g = exportGraphOfFolder(folder);
    const out = buildPytorch(g);
    const dir = resolve(outPath);
    await mkdir(dir, { recursive: true });
    const files = [join(dir, 'model.py'), join(dir, 'weights.safetensors'), join(dir, 'README.md')];
    await writeFile(files[0]!, out.modelPy);
    await writeFile(files[1]!, out.weights);
    await writeFile(files[2]!, out.readme);
    if (g.text) {
      files.push(join(dir, 'tokenizer.json'));
      await writeTokenizerJson(files[3]!, g.text.tokenizer);
      return { files, notes: ['PyTorch export: token ids are integer tensors [N, T]; see README.md in the folder.', textNote(g)] };
    }
    if (!g.table) return { files, notes: ['PyTorch export: images are NCHW ([N, C, H, W]); see README.md in the folder.'] };
    files.push(join(dir, 'preprocessing.json'));
    await writePreprocessingJson(files[3]!, g.table.preprocessing);
    return { files, notes: ['PyTorch export of a table model: takes the raw encoded features [N, F] and normalises them itself; see README.md in the folder.'] };
  },
};
