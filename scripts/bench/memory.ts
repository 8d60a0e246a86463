/**
 * Memory while training cifar10-cnn on all 50,000 CIFAR-10 training images through the real CLI path,
 * in a child process: `node bin/layerforge.mjs train resources/templates/cifar10-cnn.json --dataset
 * cifar10 --data-dir DIR --epochs E --limit L --batch-size 64 --backend wasm --json`.
 *
 * Data: the official binaries in $LAYERFORGE_BENCH_CIFAR, else /tmp/cifar/cifar-10-batches-bin; where
 * neither holds them, 50,000 + 10,000 synthetic images of the same size written in the same binary
 * layout to a temporary folder (said in the note, removed afterwards).
 *
 * Bounded epochs: the worker always decodes and keeps the whole training set (all 50,000 images,
 * 150 MB as uint8) whatever --limit says; --limit only bounds how many of them each epoch trains on
 * (2 × --batches batches of 64, default 64), so the data held is that of a full-set run and an epoch is
 * seconds, not minutes. Every epoch also validates on the full 10,000-image test split.
 * LAYERFORGE_BENCH_MEMORY_FULL=1 trains full epochs instead (782 batches each; minutes per epoch);
 * LAYERFORGE_BENCH_MEMORY_EPOCHS sets the epoch count (default 4, at least 3).
 *
 * Sampling: every 100 ms and at each epoch event, VmRSS of the CLI process and every descendant process
 * (worker threads share the CLI's process, so they are inside its RSS; tsx's esbuild service is a child
 * process). Peak = the CLI's VmHWM (the kernel's own high-water mark) + the descendants' VmHWM, which
 * bounds the tree's peak from above; the sampled peak of the sum is in the note.
 *
 * The peer: scripts/bench/pytorch-memory.py trains the same cifar10-cnn (315,722 parameters, Adam, batch 64)
 * in Debian's PyTorch on the same 50,000 + 10,000 images held in memory, over the same epochs, --limit and
 * validation after each epoch, measured the same way (VmHWM, sampled RSS). Twice: images kept uint8 and
 * converted per batch (torchvision's CIFAR10 keeps them so; what we do: the ratio's peer), and one float32
 * tensor / 255 made at load (pytorch-reference.py's and most tutorials' way; beside it). No ratio against a
 * torch on the reference BLAS (a user's PyTorch has OpenBLAS; the BLAS is printed).
 */
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryPeerEnv, PYTHON, pytorchMissing } from './pytorch';
import type { BenchModule, Figure } from './types';

const TEMPLATE = 'resources/templates/cifar10-cnn.json';
const PEER = 'scripts/bench/pytorch-memory.py';
const DEFAULT_CIFAR = '/tmp/cifar/cifar-10-batches-bin';
const RECORD = 3073;
const MiB = 1024 * 1024;

/** VmRSS / VmHWM of one process in bytes, or null once it is gone. */
export function procMemory(pid: number): { rss: number; hwm: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  };
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** The process and all its descendants (threads are not processes: they are in their process's RSS). */
export function processTree(root: number): number[] {
  const out: number[] = [];
  const visit = (pid: number) => {
    out.push(pid);
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      return;
    }
    for (const tid of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const c of children.trim().split(/\s+/).filter(Boolean)) visit(Number(c));
    }
  };
  visit(root);
  return out;
}

/** Tracks a process tree's memory: current total RSS, sampled peak, per-process high-water marks. */
export class TreeSampler {
  sampledPeak = 0;
  readonly hwm = new Map<number, number>();
  constructor(readonly root: number) {}

  sample(): number {
    let total = 0;
    for (const pid of processTree(this.root)) {
      const m = procMemory(pid);
      if (!m) continue;
      total += m.rss;
      this.hwm.set(pid, Math.max(this.hwm.get(pid) ?? 0, m.hwm));
    }
    this.sampledPeak = Math.max(this.sampledPeak, total);
    return total;
  }

  /** Sum of every process's high-water mark (>= the tree's true peak). */
  hwmSum(): number {
    let s = 0;
    for (const v of this.hwm.values()) s += v;
    return s;
  }
}

function hasCifarBinaries(dir: string): boolean {
  return [1, 2, 3, 4, 5].every((i) => existsSync(join(dir, `data_batch_${i}.bin`))) && existsSync(join(dir, 'test_batch.bin'));
}

/** Writes 5 × 10,000 training and 10,000 test records of random pixels in CIFAR-10's binary layout. */
export function writeSyntheticCifar(dir: string, perFile = 10_000): void {
  const files = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
  for (const f of files) {
    const buf = Buffer.allocUnsafe(perFile * RECORD);
    randomFillSync(buf);
    for (let i = 0; i < perFile; i++) buf[i * RECORD] = i % 10;
    writeFileSync(join(dir, f), buf);
  }
}

interface EpochSample {
  epoch: number;
  rss: number;
  numTensors: number | null;
}

interface ChildResult {
  code: number | null;
  epochs: EpochSample[];
  rssAfterLoad: number | null;
  /** The sampled peak of the tree's RSS up to the 'started' event (dataset decoding + model compile). */
  peakBeforeTraining: number | null;
  baseline: number | null;
  peakHwm: number;
  sampledPeak: number;
  summary: Record<string, unknown> | null;
  stderrTail: string;
  elapsedMs: number;
}

function runChild(args: string[], log: (line: string) => void, timeoutMs: number, command = [process.execPath, 'bin/layerforge.mjs'], env: NodeJS.ProcessEnv = process.env): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(command[0]!, [...command.slice(1), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    if (child.pid === undefined) {
      reject(new Error(`could not start ${command.join(' ')}`));
      return;
    }
    const sampler = new TreeSampler(child.pid);
    const epochs: EpochSample[] = [];
    let rssAfterLoad: number | null = null;
    let peakBeforeTraining: number | null = null;
    let baseline: number | null = null;
    let summary: Record<string, unknown> | null = null;
    let stderr = '';
    let pending = '';
    const timer = setInterval(() => {
      const rss = sampler.sample();
      if (baseline === null && rss > 0) baseline = rss;
    }, 100);
    const killer = setTimeout(() => {
      log(`memory: the CLI ran past ${Math.round(timeoutMs / 1000)} s; stopping it (pid ${child.pid})`);
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        let e: Record<string, unknown>;
        try {
          e = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        const rss = sampler.sample();
        if (e.type === undefined) {
          summary = e; // the PyTorch peer's last line
        } else if (e.type === 'started') {
          rssAfterLoad = rss;
          peakBeforeTraining = sampler.sampledPeak;
          log(`memory: started (dataset decoded, model compiled): RSS ${mb(rss)} MiB, ${String(e.trainImages)} train images per epoch, ${String(e.batchesPerEpoch)} batches`);
        } else if (e.type === 'epoch') {
          const numTensors = typeof e.numTensors === 'number' ? e.numTensors : null;
          epochs.push({ epoch: Number(e.epoch), rss, numTensors });
          log(`memory: epoch ${String(e.epoch)}: RSS ${mb(rss)} MiB, ${numTensors ?? '?'} tensors, ${Math.round(Number(e.imagesPerSecond))} img/s, val acc ${Number(e.valAccuracy).toFixed(3)}`);
        } else if (e.type === 'summary') {
          summary = e;
        } else if (e.type === 'ended') {
          log(`memory: ended: ${String(e.reason)} (${String(e.message)})`);
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.on('error', (error) => {
      clearInterval(timer);
      clearTimeout(killer);
      reject(error);
    });
    child.on('close', (code) => {
      clearInterval(timer);
      clearTimeout(killer);
      resolvePromise({ code, epochs, rssAfterLoad, peakBeforeTraining, baseline, peakHwm: sampler.hwmSum(), sampledPeak: sampler.sampledPeak, summary, stderrTail: stderr.trim().split('\n').slice(-3).join(' | '), elapsedMs: performance.now() - t0 });
    });
  });
}

const mb = (bytes: number) => Math.round((bytes / MiB) * 10) / 10;

/** One run of the PyTorch peer: its peak as we measure ours (VmHWM and sampled RSS) and its JSON summary. */
interface PeerRun {
  storage: 'uint8' | 'float32';
  peak: number | null;
  summary: Record<string, unknown> | null;
  why?: string;
}

async function runPeer(storage: PeerRun['storage'], dataDir: string, epochs: number, limit: number | null, log: (line: string) => void, timeoutMs: number): Promise<PeerRun> {
  const args = [dataDir, '--storage', storage, '--epochs', String(epochs), '--batch', '64', '--threads', '2', ...(limit ? ['--limit', String(limit)] : [])];
  log(`memory: ${PYTHON} ${PEER} ${args.join(' ')}`);
  // glibc's malloc defaults (not the speed peers' settings): they give PyTorch its lowest RSS.
  const r = await runChild(args, log, timeoutMs, [PYTHON, PEER], memoryPeerEnv());
  if (r.code !== 0 || !r.summary) return { storage, peak: null, summary: null, why: `pytorch-memory.py (${storage}) exited with ${r.code}: ${r.stderrTail || 'no error output'}` };
  // Its own ru_maxrss is the same high-water mark seen from inside; the larger of the three is the peak.
  const own = Number(r.summary.peak_rss_mib ?? 0) * MiB;
  const peak = Math.max(r.peakHwm, r.sampledPeak, own);
  const s = r.summary;
  log(`memory: PyTorch (${storage}): peak ${mb(peak)} MiB (VmHWM ${mb(r.peakHwm)}, own ru_maxrss ${String(s.ru_maxrss_mib)}); after import torch ${String(s.rss_after_import_mib)} MiB, after load ${String(s.rss_after_load_mib)}; per epoch ${String(s.rss_per_epoch_mib)}; ${String(s.params)} parameters, ${String(s.train_img_s)} img/s, test acc ${Number(s.test_accuracy).toFixed(3)}, blas ${String(s.blas)}`);
  return { storage, peak, summary: s };
}

export const memoryBench: BenchModule = {
  name: 'memory',
  async run({ batches, backends, log }) {
    const backend = backends.includes('wasm') ? 'wasm' : (backends[0] ?? 'wasm');
    const full = process.env.LAYERFORGE_BENCH_MEMORY_FULL === '1';
    const epochs = Math.max(3, Number(process.env.LAYERFORGE_BENCH_MEMORY_EPOCHS ?? 4) || 4);
    const batchesPerEpoch = Math.max(4, batches * 2);
    const candidates = [process.env.LAYERFORGE_BENCH_CIFAR, DEFAULT_CIFAR].filter((d): d is string => Boolean(d));
    let dataDir = candidates.find(hasCifarBinaries);
    let tmp: string | null = null;
    if (!dataDir) {
      tmp = mkdtempSync(join(tmpdir(), 'layerforge-bench-cifar-'));
      log(`memory: no CIFAR-10 binaries in ${candidates.join(' or ')}; writing 50,000 + 10,000 synthetic images to ${tmp}`);
      writeSyntheticCifar(tmp);
      dataDir = tmp;
    }
    const dataNote = tmp ? 'synthetic 50,000 images (no CIFAR-10 binaries found)' : `real CIFAR-10, 50,000 images from ${dataDir}`;
    const args = ['train', TEMPLATE, '--dataset', 'cifar10', '--data-dir', dataDir, '--epochs', String(epochs), '--batch-size', '64', '--backend', backend, '--json'];
    if (!full) args.push('--limit', String(64 * batchesPerEpoch));
    log(`memory: layerforge ${args.join(' ')}`);
    const loadBefore = loadavg()[0]!;
    let r: ChildResult;
    const peers: PeerRun[] = [];
    const missing = pytorchMissing();
    try {
      r = await runChild(args, log, (full ? 120 : 15) * 60_000);
      if (r.code !== 0 || r.epochs.length < 3) {
        throw new Error(`the train command exited with ${r.code} after ${r.epochs.length} epoch(s): ${r.stderrTail || 'no error output'}`);
      }
      // Memory does not move with load (only time does): one run of each, after ours.
      if (!missing) for (const storage of ['uint8', 'float32'] as const) peers.push(await runPeer(storage, dataDir, epochs, full ? null : 64 * batchesPerEpoch, log, (full ? 120 : 20) * 60_000));
    } finally {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    }
    const peak = Math.max(r.peakHwm, r.sampledPeak);
    const second = r.epochs[1]!;
    const last = r.epochs.at(-1)!;
    const growth = last.rss - second.rss;
    const tensors = r.epochs.map((e) => e.numTensors);
    const tensorGrowth = last.numTensors != null && second.numTensors != null ? last.numTensors - second.numTensors : null;
    const perEpoch = r.epochs.map((e) => `${mb(e.rss)}`).join(', ');
    const how = `${dataNote}; ${backend}; ${epochs} epochs × ${full ? 'all 782' : `${batchesPerEpoch} (--limit ${64 * batchesPerEpoch}; all 50,000 held)`} batches of 64; ${Math.round(r.elapsedMs / 1000)} s; load average ${loadBefore.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end`;
    log(`memory: peak ${mb(peak)} MiB (VmHWM sum ${mb(r.peakHwm)}, sampled ${mb(r.sampledPeak)}); at start ${r.baseline == null ? '?' : mb(r.baseline)} MiB, after load ${r.rssAfterLoad == null ? '?' : mb(r.rssAfterLoad)} MiB (peak until then ${r.peakBeforeTraining == null ? '?' : mb(r.peakBeforeTraining)}); per epoch ${perEpoch} MiB; tensors ${tensors.join(', ')}`);
    const ourParams = (r.summary?.model as { params?: number } | undefined)?.params ?? null;
    const peerFigure = (p: PeerRun | undefined, storage: PeerRun['storage']): Figure => {
      const id = storage === 'uint8' ? 'pytorch.memory.peakRss' : 'pytorch.memory.peakRss.float32';
      const label = storage === 'uint8' ? 'PyTorch peak RSS, same model, batch and steps; images uint8, converted per batch (the peer)' : 'PyTorch peak RSS, images as one float32 tensor / 255 made at load';
      if (!p) return { id, label, value: null, unit: 'MiB', note: missing ?? 'not run' };
      if (p.peak == null || !p.summary) return { id, label, value: null, unit: 'MiB', note: p.why ?? 'no result' };
      const s = p.summary;
      const blas = String(s.blas);
      // A PyTorch on the reference BLAS is not the one users run: its figure is shown, no ratio is made against it.
      const refused = blas === 'reference';
      const params = Number(s.params);
      const note = `torch ${String(s.torch)}, blas ${blas}${refused ? ' (the reference BLAS: apt-get install -y libopenblas0-openmp; no ratio is reported against it)' : ''}, ${String(s.threads)} threads; ${params.toLocaleString('en-US')} parameters${ourParams != null && ourParams !== params ? ` (ours ${ourParams.toLocaleString('en-US')}: NOT the same model)` : ''}; RSS after import torch ${String(s.rss_after_import_mib)} MiB, after load ${String(s.rss_after_load_mib)} MiB, per epoch ${(s.rss_per_epoch_mib as number[] | undefined)?.join(', ') ?? '?'} MiB; ${String(s.train_img_s)} img/s`;
      return { id, label, value: refused ? null : mb(p.peak), unit: 'MiB', note: refused ? `${mb(p.peak)} MiB measured; ${note}` : note };
    };
    const figures: Figure[] = [
      peerFigure(peers.find((p) => p.storage === 'uint8'), 'uint8'),
      peerFigure(peers.find((p) => p.storage === 'float32'), 'float32'),
      { id: 'memory.peakRss', label: 'peak RSS training cifar10-cnn on 50,000 images (CLI, target < 1,536 and <= PyTorch)', value: mb(peak), unit: 'MiB', peer: 'pytorch.memory.peakRss', note: `${how}; sampled peak ${mb(r.sampledPeak)} MiB` },
      { id: 'memory.peakRss.vsFloat32', label: 'the same, against PyTorch holding float32 images', value: mb(peak), unit: 'MiB', peer: 'pytorch.memory.peakRss.float32' },
      {
        id: 'memory.rssAfterLoad',
        label: 'RSS after the dataset is decoded and the model compiled',
        value: r.rssAfterLoad == null ? null : mb(r.rssAfterLoad),
        unit: 'MiB',
        note: `sampled peak up to then ${r.peakBeforeTraining == null ? '?' : mb(r.peakBeforeTraining)} MiB; CLI at start ${r.baseline == null ? '?' : mb(r.baseline)} MiB`,
      },
      { id: 'memory.growth', label: `RSS growth from epoch 2 to epoch ${last.epoch} (target ~0)`, value: mb(growth), unit: 'MiB', note: `RSS at each epoch end: ${perEpoch} MiB` },
      { id: 'memory.tensorGrowth', label: `tensor count growth from epoch 2 to epoch ${last.epoch}`, value: tensorGrowth, unit: 'tensors', note: `numTensors per epoch: ${tensors.join(', ')}` },
    ];
    return figures;
  },
};
