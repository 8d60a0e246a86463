import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileGraph } from '../../compile';
import { exportGraphOf } from '../exportGraph';
import { layerFixtures, templateFixtures } from '../fixtures';
import { buildKeras, kerasUnsupported } from '.';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const PYTHON = '/usr/bin/python3';
const fixtures = [...templateFixtures(), ...layerFixtures()];

/** The LAYERS list of a generated model.py, parsed from the source. */
function layerList(src: string): [string, string][] {
  const block = /^LAYERS = \[\n([\s\S]*?)\n\]/m.exec(src)![1]!;
  return block.split('\n').map((line) => {
    const m = /^\s+\('((?:[^'\\]|\\.)*)', '((?:[^'\\]|\\.)*)'\),$/.exec(line);
    if (!m) throw new Error(`unexpected LAYERS line: ${line}`);
    return [m[1]!, m[2]!];
  });
}

describe('Keras export', () => {
  it.each(fixtures.map((f) => [f.name, f] as const))('%s: model.py compiles and its layer list matches the graph', (_n, f) => {
    const { model } = compileGraph(tf, f.graph);
    const g = exportGraphOf(f.graph, model);
    if (kerasUnsupported(g).length) {
      expect(() => buildKeras(g)).toThrow(/cannot export to Keras/);
      model.dispose();
      return;
    }
    const out = buildKeras(g);
    const dir = mkdtempSync(join(tmpdir(), 'lf-keras-'));
    writeFileSync(join(dir, 'model.py'), out.modelPy);
    const r = spawnSync(PYTHON, ['-m', 'py_compile', join(dir, 'model.py')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // the layer list in model.py: every tfjs layer, in order, with the Keras class tfjs itself reports
    const listed = layerList(out.modelPy);
    expect(listed.map(([n]) => n)).toEqual(g.layers.map((l) => l.name));
    const tfClasses = g.layers.map((l) => (l.className === 'Bidirectional' ? `Bidirectional(${(l.config.layer as { className: string }).className})` : l.className));
    expect(listed.map(([, c]) => c)).toEqual(tfClasses);
    // and every build() line creates the listed layer under its name
    for (const [name, cls] of listed) {
      if (cls === 'InputLayer') expect(out.modelPy).toContain(`keras.Input(shape=`);
      else expect(out.modelPy).toMatch(new RegExp(`(layers\\.)?${cls.replace(/\(.*/, '')}\\(.*name='${name}'\\)`));
    }
    model.dispose();
  });

  it('says how to train with tf.distribute', () => {
    const f = templateFixtures()[0]!;
    const { model } = compileGraph(tf, f.graph);
    expect(buildKeras(exportGraphOf(f.graph, model)).readme).toMatch(/MultiWorkerMirroredStrategy/);
    model.dispose();
  });
});
