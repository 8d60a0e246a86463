/**
 * Training and inference throughput of the other templates (resnet-small, lstm-classifier,
 * transformer-classifier, lenet5, vgg-cnn) on the wasm backend, through the engine's own Trainer,
 * against PyTorch equivalents (scripts/bench/pytorch-templates.py) run in the same bench run.
 * Each side: the template's batch size, Adam 1e-3, synthetic data of the template's input shape and
 * class count; warm-up of at least WARMUP_BATCHES batches and WARMUP_SECONDS, then timed batches, at
 * least `templateBatches(--batches)` and TIMED_SECONDS (a few batches of a small model take tens of
 * milliseconds: such a figure is mostly timer noise and, for us, code V8 has not optimised yet);
 * inference in batches of 256 after one warm-up batch. Each template's PyTorch peer runs just before and just after ours
 * (so both see about the same machine load) and the better of its two runs is the peer figure.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { analyzeGraph } from '../../shared/graph';
import { defaultTrainingSettings, parseProjectText, type TrainingSettings } from '../../shared/project';
import { selectBackend, type SelectedBackend } from '../../main/engine/backends';
import { Trainer } from '../../main/engine/training/trainer';
import { graphDataShape, syntheticDataset } from '../../main/engine/training/testing/synthetic';
import { PYTHON, speedPeerEnv, speedPeerMallocNote } from './pytorch';
import type { BenchModule, Figure } from './types';

export const TEMPLATES = ['resnet-small', 'lstm-classifier', 'transformer-classifier', 'lenet5', 'vgg-cnn'] as const;
export type TemplateName = (typeof TEMPLATES)[number];
export const PEER_SCRIPT = resolve('scripts/bench/pytorch-templates.py');
const WARMUP_BATCHES = 2;
/** Each side warms up for at least this long, then is timed for at least TIMED_SECONDS (same rule on both). */
export const WARMUP_SECONDS = 1;
export const TIMED_SECONDS = 2;
/** Batches per timed epoch (at least): the data pool each side cycles through. */
export const EPOCH_BATCHES = 64;
const INFER_IMAGES = 1024;

/** Timed training batches per template: a quarter of cifar10-cnn's `--batches` (default 32 -> 8), at least 2. */
export function templateBatches(batches: number): number {
  return Math.max(2, Math.ceil(batches / 4));
}

export interface PeerResult {
  params: number;
  batch: number;
  train_img_s: number;
  infer_img_s: number;
  /** Batches it timed (the time bound decides for small models). */
  train_batches?: number;
  /** Minor page faults a timed batch (0 when its allocator keeps its tensors' memory mapped). */
  train_minflt_per_batch?: number;
}

/** Whether the PyTorch peers can run here: null if yes, else why not. */
function peerUnavailable(): string | null {
  if (!existsSync(PEER_SCRIPT)) return `${PEER_SCRIPT} not found`;
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return 'PyTorch is not installed for /usr/bin/python3 (apt-get install -y python3-torch)';
  return null;
}

/** Runs one template's PyTorch peer once (the module runs it just before and just after ours). */
function runPeer(name: TemplateName, batches: number, log: (line: string) => void): PeerResult | string {
  const args = [PEER_SCRIPT, 'throughput', '--templates', name, '--batches', String(batches), '--warmup', String(WARMUP_BATCHES)];
  args.push('--warmup-seconds', String(WARMUP_SECONDS), '--min-seconds', String(TIMED_SECONDS), '--pool', String(EPOCH_BATCHES), '--infer-images', String(INFER_IMAGES));
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', timeout: 600_000, env: speedPeerEnv() });
  if (r.status !== 0) return `pytorch-templates.py failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n').at(-1)}`;
  const lines = r.stdout.trim().split('\n');
  for (const line of lines.slice(0, -1)) log(`templates: PyTorch ${line}`);
  const j = JSON.parse(lines.at(-1) ?? '{}') as { templates?: Record<string, PeerResult> };
  return j.templates?.[name] ?? `pytorch-templates.py printed no result for ${name}`;
}

interface Ours {
  train: number;
  /** Batches in the timed epochs. */
  timedBatches: number;
  infer: number;
  inferCount: number;
  params: number;
  batch: number;
  leaked: number;
}

async function measure(selected: SelectedBackend, name: TemplateName, n: number): Promise<Ours> {
  const file = `resources/templates/${name}.json`;
  const project = parseProjectText(readFileSync(file, 'utf8'), file);
  const params = analyzeGraph(project.graph).totals.params;
  const { shape, classes, vocab } = graphDataShape(project.graph);
  const bs = project.training.batchSize ?? 64;
  // Timed epochs of EPOCH_BATCHES batches (at least n): long enough that garbage collection and the
  // like fall inside the timed steps, as in a real epoch, not between short epochs outside them.
  const epochBatches = Math.max(n, EPOCH_BATCHES);
  const trainCount = bs * epochBatches;
  // One held-out training sample is the per-epoch validation set: validating on the 1,024-image test
  // split after every train() call would double the module's time and is not what is measured here.
  const settings: TrainingSettings = {
    ...defaultTrainingSettings(),
    epochs: 1,
    batchSize: bs,
    optimizer: 'adam',
    learningRate: 1e-3,
    validationSplit: 1 / (trainCount + 1),
  };
  const ds = syntheticDataset({ shape, classes, train: trainCount + 1, test: INFER_IMAGES, ...(vocab ? { vocab } : {}) });
  const { tf } = selected;
  const trainer = Trainer.fromGraph(tf, project.graph, settings, ds, selected.name);
  try {
    // Warm-up (kernel compilation, optimizer slots, V8 tiering up), then the timed batches: one epoch of
    // n batches at a time until both bounds are met; throughput = images / time in training steps.
    const epoch = async (id: string, batchCount: number) => {
      const r = await trainer.train(id, bs * batchCount + 1, () => {});
      if (r.reason !== 'completed') throw new Error(`${name}: ${id} failed: ${r.message}`);
      if (r.imagesTrained !== bs * batchCount) throw new Error(`${name}: trained ${r.imagesTrained} images, expected ${bs * batchCount}`);
      return r;
    };
    for (let t0 = performance.now(), done = 0; done < WARMUP_BATCHES || performance.now() - t0 < WARMUP_SECONDS * 1000; done += WARMUP_BATCHES) await epoch('warmup', WARMUP_BATCHES);
    const before = tf.memory().numTensors;
    let images = 0, trainMs = 0;
    while (trainMs < TIMED_SECONDS * 1000) {
      const r = await epoch('bench', epochBatches);
      images += r.imagesTrained;
      trainMs += r.trainMs ?? 0;
    }
    await trainer.evaluate('test', 256); // inference warm-up
    const ev = await trainer.evaluate('test');
    return { train: images / (trainMs / 1000), timedBatches: images / bs, infer: ev.imagesPerSecond, inferCount: ev.count, params, batch: bs, leaked: tf.memory().numTensors - before };
  } finally {
    trainer.dispose();
  }
}

export const templatesBench: BenchModule = {
  name: 'templates',
  async run({ batches, backends, log, template }) {
    const n = templateBatches(batches);
    const wanted = template ? template.split(',').map((s) => s.trim()).filter(Boolean) : [...TEMPLATES];
    const unknown = wanted.filter((name) => !(TEMPLATES as readonly string[]).includes(name));
    if (unknown.length) throw new Error(`no template ${unknown.join(', ')} in the templates module (it has ${TEMPLATES.join(', ')})`);
    const ours: Figure[] = [];
    const theirs: Figure[] = [];
    const noPeer = peerUnavailable();
    if (noPeer) log(`templates: PyTorch peers skipped: ${noPeer}`);
    let selected: SelectedBackend | null = null;
    let oursNote: string | undefined;
    if (!backends.includes('wasm')) oursNote = 'wasm not among --backends';
    else {
      try {
        selected = await selectBackend({ force: 'wasm' });
      } catch (error) {
        oursNote = `wasm not available (${error instanceof Error ? error.message : String(error)})`;
      }
    }
    for (const name of TEMPLATES.filter((t) => wanted.includes(t))) {
      const before = noPeer ?? runPeer(name, n, log);
      let m: Ours | null = null;
      let note = oursNote;
      if (selected) {
        log(`templates: ${name} on wasm, ${WARMUP_BATCHES} warm-up + ${n} timed batches ...`);
        try {
          m = await measure(selected, name, n);
          log(`templates: ${name}: train ${m.train.toFixed(0)} img/s, inference ${m.infer.toFixed(0)} img/s`);
          const p0 = typeof before === 'string' ? undefined : before;
          const paramsNote = p0 ? (p0.params === m.params ? `params ${m.params} = PyTorch's` : `PARAMS DIFFER: ours ${m.params}, PyTorch ${p0.params}`) : `params ${m.params}`;
          if (p0 && p0.params !== m.params) log(`templates: ${name}: ${paramsNote}`);
          note = `${paramsNote}; ${m.timedBatches} batches timed; ${m.leaked} tensors left after the timed run; load average ${loadavg()[0]!.toFixed(2)}`;
        } catch (error) {
          note = error instanceof Error ? error.message : String(error);
          log(`templates: ${name} failed: ${note}`);
        }
      }
      // The peer runs before and after ours; its best of the two counts (load spikes hurt PyTorch's
      // two OpenMP threads badly, and the best run keeps the ratio from flattering us).
      const after = noPeer ?? runPeer(name, n, log);
      const runs = [before, after].filter((x): x is PeerResult => typeof x !== 'string');
      const peer = runs.length ? bestOf(runs) : undefined;
      const peerWhy = peer ? undefined : typeof before === 'string' ? before : String(after);
      const faults = runs.map((x) => (x.train_minflt_per_batch == null ? '?' : x.train_minflt_per_batch.toFixed(0))).join(' and ');
      const peerNote = runs.length > 1 ? `best of ${runs.map((x) => `${x.train_img_s}/${x.infer_img_s}`).join(' and ')} (train/infer, before and after ours; ${runs.map((x) => x.train_batches ?? '?').join(' and ')} batches timed, ${faults} page faults a batch; ${speedPeerMallocNote()})` : peerWhy;
      if (m && peer) log(`templates: ${name}: PyTorch best of ${runs.length}: train ${peer.train_img_s}, inference ${peer.infer_img_s} img/s`);
      const bs = m?.batch ?? peer?.batch ?? 64;
      ours.push(
        { id: `${name}.train.wasm`, label: `${name} training on wasm (batch ${bs}, >= ${TIMED_SECONDS} s after >= ${WARMUP_SECONDS} s warm-up)`, value: m ? round(m.train) : null, unit: 'img/s', peer: `pytorch.${name}.train`, ...(note ? { note } : {}) },
        { id: `${name}.infer.wasm`, label: `${name} inference on wasm (batch 256, ${m?.inferCount ?? INFER_IMAGES} samples)`, value: m ? round(m.infer) : null, unit: 'img/s', peer: `pytorch.${name}.infer` },
      );
      theirs.push(
        { id: `pytorch.${name}.train`, label: `PyTorch ${name} training (batch ${bs}, same time bounds)`, value: peer?.train_img_s ?? null, unit: 'img/s', ...(peerNote ? { note: peerNote } : {}) },
        { id: `pytorch.${name}.infer`, label: `PyTorch ${name} inference (batch 256)`, value: peer?.infer_img_s ?? null, unit: 'img/s', ...(peerNote ? { note: peerNote } : {}) },
      );
    }
    return [...ours, ...theirs];
  },
};

/** The fastest of several peer runs, per figure. */
export function bestOf(runs: PeerResult[]): PeerResult {
  return runs.reduce((a, b) => ({ ...a, train_img_s: Math.max(a.train_img_s, b.train_img_s), infer_img_s: Math.max(a.infer_img_s, b.infer_img_s) }));
}

const round = (v: number) => Math.round(v * 10) / 10;
