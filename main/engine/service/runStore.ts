/**
 * Runs kept on disk, one folder per run under `<dataDir>/runs/<runId>/`:
 *   run.json   settings, graph snapshot, metrics history, evaluation, status (written atomically)
 *   model/     the trained model folder (model.json + weights.bin + project.json + metrics.json)
 * so every run survives a restart. A run that was still going when the process died is marked failed.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunDetail } from '../../../shared/api/engine';
import type { StoredHealth } from './insight';

export interface StoredRun extends RunDetail {
  /** Limits the run was started with (predict/evaluate use the same test subset). */
  maxTrainSamples?: number;
  maxTestSamples?: number;
  /** Training health per layer and epoch, and the latest warnings (service/insight.ts). */
  health?: StoredHealth;
}

const RUN_ID = /^run-[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$/;

export function newRunId(now = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return `run-${stamp}-${randomBytes(3).toString('hex')}`;
}

export const isRunId = (id: string) => RUN_ID.test(id);

export class RunStore {
  constructor(readonly root: string) {}

  dir(runId: string): string {
    if (!isRunId(runId)) throw new Error(`'${runId}' is not a run id`);
    return join(this.root, runId);
  }

  modelDir(runId: string): string {
    return join(this.dir(runId), 'model');
  }

  async save(run: StoredRun): Promise<void> {
    const dir = this.dir(run.id);
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'run.json');
    const tmp = `${file}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`;
    await writeFile(tmp, JSON.stringify(run));
    await rename(tmp, file);
  }

  /** Every readable run, newest first. Unreadable folders are skipped (and reported through `onBad`). */
  async loadAll(onBad?: (dir: string, error: unknown) => void): Promise<StoredRun[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch {
      return [];
    }
    const runs: StoredRun[] = [];
    for (const name of names.filter(isRunId)) {
      try {
        const run = JSON.parse(await readFile(join(this.root, name, 'run.json'), 'utf8')) as StoredRun;
        if (run.id !== name || !Array.isArray(run.batches) || !Array.isArray(run.epochPoints)) throw new Error('run.json is not a run record');
        runs.push(run);
      } catch (error) {
        onBad?.(join(this.root, name), error);
      }
    }
    return runs.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  async remove(runId: string): Promise<void> {
    await rm(this.dir(runId), { recursive: true, force: true });
  }
}
