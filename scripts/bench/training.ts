/**
 * Training and inference throughput of the cifar10-cnn template (compiled by compileGraph), batch 64,
 * on each backend, through the engine's own training loop (main/engine/training/trainer.ts).
 */
import { readFileSync } from 'node:fs';
import { parseProjectText, defaultTrainingSettings } from '../../shared/project';
import { selectBackend, type BackendName } from '../../main/engine/backends';
import { Trainer } from '../../main/engine/training/trainer';
import { syntheticDataset } from '../../main/engine/training/testing/synthetic';
import type { BenchModule, Figure } from './types';

const TEMPLATE = 'resources/templates/cifar10-cnn.json';

export const trainingBench: BenchModule = {
  name: 'training',
  async run({ batches, cpuBatches, backends, log }) {
    const project = parseProjectText(readFileSync(TEMPLATE, 'utf8'), TEMPLATE);
    const figures: Figure[] = [];
    for (const backend of backends) {
      const n = backend === 'cpu' ? cpuBatches : batches;
      let selected;
      try {
        selected = await selectBackend({ force: backend as BackendName });
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        log(`${backend}: not available (${why})`);
        figures.push({ id: `cifar10-cnn.train.${backend}`, label: `cifar10-cnn training on ${backend}`, value: null, unit: 'img/s', peer: 'pytorch.train', note: why });
        continue;
      }
      log(`${backend}: ${selected.reason}; training ${n} batches of 64 ...`);
      const ds = syntheticDataset({ shape: [32, 32, 3], classes: 10, train: 64 * (n + 1), test: backend === 'cpu' ? 256 : 2048 });
      const settings = { ...defaultTrainingSettings(), epochs: 1, batchSize: 64, optimizer: 'adam' as const, learningRate: 1e-3 };
      const trainer = Trainer.fromGraph(selected.tf, project.graph, settings, ds, selected.name);
      // Warm-up batch (kernel compilation, optimizer slots), then the timed batches.
      await trainer.train('warmup', 64, () => {});
      const tf = selected.tf;
      const before = tf.memory().numTensors;
      const r = await trainer.train('bench', 64 * n, () => {});
      if (r.reason !== 'completed') throw new Error(`${backend}: training failed: ${r.message}`);
      const ev = trainer.evaluate('test');
      const leaked = tf.memory().numTensors - before;
      trainer.dispose();
      log(`${backend}: train ${r.trainImagesPerSecond.toFixed(0)} img/s, inference ${ev.imagesPerSecond.toFixed(0)} img/s`);
      figures.push(
        { id: `cifar10-cnn.train.${backend}`, label: `cifar10-cnn training on ${backend} (batch 64, ${n} batches)`, value: round(r.trainImagesPerSecond), unit: 'img/s', peer: 'pytorch.train', note: selected.reason },
        { id: `cifar10-cnn.infer.${backend}`, label: `cifar10-cnn inference on ${backend} (batch 256, ${ev.count} images)`, value: round(ev.imagesPerSecond), unit: 'img/s', peer: 'pytorch.infer' },
        { id: `cifar10-cnn.tensorsLeaked.${backend}`, label: `tensors left after a run on ${backend} (optimizer slots)`, value: leaked, unit: 'tensors' },
      );
    }
    return figures;
  },
};

const round = (v: number) => Math.round(v * 10) / 10;
