import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseProjectText } from '../../../shared/project';
import { compileGraph } from '../../engine/compile';
import { layerFixtures } from '../../engine/export/fixtures';
import { saveModelFolder } from '../../engine/export/modelFolder';
import { newProject } from '../../../shared/project';
import { main } from '..';
import type { CliIO } from '../command';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const cli: CliIO = { out: (t) => out.push(t), err: (t) => err.push(t), isTTY: false };
  return { cli, out, err };
}

const work = mkdtempSync(join(tmpdir(), 'lf-cli-export-'));
const modelDir = join(work, 'model');

beforeAll(async () => {
  await tf.setBackend('cpu');
  const project = parseProjectText(readFileSync('resources/templates/cifar10-cnn.json', 'utf8'));
  const { model } = compileGraph(tf, project.graph);
  await saveModelFolder(tf, modelDir, { project, model, metrics: {} });
  model.dispose();
});

describe('layerforge export / import', () => {
  it.each([
    ['tfjs', 'tfjs', ['model.json', 'group1-shard1of1.bin']],
    ['onnx', 'm.onnx', []],
    ['pytorch', 'pt', ['model.py', 'weights.safetensors', 'README.md']],
    ['keras', 'keras', ['model.py', 'README.md', 'model.json']],
  ] as const)('exports a train --out folder as %s', async (format, out, files) => {
    const { cli, out: lines } = io();
    const dest = join(work, out);
    expect(await main(['export', modelDir, '--format', format, '--out', dest], cli)).toBe(0);
    expect(existsSync(dest)).toBe(true);
    for (const f of files) expect(existsSync(join(dest, f)), f).toBe(true);
    expect(lines[0]).toMatch(/^Exported CIFAR-10 CNN as /);
  });

  it('exports an attention model from a fresh process (custom layers registered on load)', async () => {
    const f = layerFixtures().find((x) => x.name === 'attention')!;
    const { model } = compileGraph(tf, f.graph);
    const dir = join(work, 'attention');
    await saveModelFolder(tf, dir, { project: { ...newProject('Attention'), graph: f.graph }, model, metrics: {} });
    model.dispose();
    const out = execFileSync(process.execPath, ['bin/layerforge.mjs', 'export', dir, '--format', 'onnx', '--out', join(work, 'att.onnx'), '--json'], { encoding: 'utf8', timeout: 60_000 });
    expect(JSON.parse(out.slice(out.indexOf('{'))).files).toEqual([join(work, 'att.onnx')]);
  });

  it('refuses an unknown format with usage (exit 2)', async () => {
    const { cli, err } = io();
    expect(await main(['export', modelDir, '--format', 'caffe', '--out', join(work, 'x')], cli)).toBe(2);
    expect(err.join('\n')).toMatch(/unknown format 'caffe' \(expected tfjs\|onnx\|pytorch\|keras\|pytorch-train\)/);
  });

  it('imports the tfjs export back into a project file', async () => {
    const { cli } = io();
    await main(['export', modelDir, '--format', 'tfjs', '--out', join(work, 'tfjs2')], io().cli);
    const dest = join(work, 'imported.json');
    expect(await main(['import', join(work, 'tfjs2', 'model.json'), '--out', dest], cli)).toBe(0);
    const p = parseProjectText(readFileSync(dest, 'utf8'));
    expect(p.graph.nodes.map((n) => n.type)).toEqual(['Input', 'Conv2D', 'MaxPool2D', 'Conv2D', 'MaxPool2D', 'Flatten', 'Dense', 'Dense']);
    // with --model-out the weights come along, as a model folder that exports again
    const withW = io();
    expect(await main(['import', join(work, 'tfjs2'), '--out', join(work, 'imported2.json'), '--model-out', join(work, 'model2')], withW.cli)).toBe(0);
    expect(existsSync(join(work, 'model2', 'weights.bin'))).toBe(true);
    expect(await main(['export', join(work, 'model2'), '--format', 'onnx', '--out', join(work, 'm2.onnx')], io().cli)).toBe(0);
    // does not overwrite without --force
    const again = io();
    expect(await main(['import', join(work, 'tfjs2'), '--out', dest], again.cli)).toBe(1);
    expect(again.err.join('\n')).toMatch(/already exists/);
  });
});
