/**
 * The real-model corpus: every file listed by a manifest main/engine/import/corpus/<format>.json (tfjs.json,
 * keras-h5.json, onnx.json, …: see the convention in those files) is imported through the registry, as
 * `layerforge import` and the app do. A file expected to import must, with the parameter total its source states;
 * a file expected to be refused must be, with a ModelImportError naming the layer / operator. At the end a tally
 * per format is printed and at least 95% of the real files (real: true) must import (issue #15's goal).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../../shared/graph';
import { importModelPath, ModelImportError } from '.';

const CORPUS = fileURLToPath(new URL('./corpus', import.meta.url));

interface Entry {
  path: string;
  what: string;
  source: string;
  real: boolean;
  format: string;
  params: number | null;
  expect: 'imports' | { refused: string };
  dims?: Record<string, number>;
}

interface Listed extends Entry {
  manifest: string;
}

/** Every manifest's entries; a manifest that does not parse is one failing case (not a crash of the file). */
function readManifests(): { entries: Listed[]; broken: { manifest: string; error: string }[] } {
  const entries: Listed[] = [];
  const broken: { manifest: string; error: string }[] = [];
  if (!existsSync(CORPUS)) return { entries, broken };
  for (const name of readdirSync(CORPUS).filter((f) => f.endsWith('.json')).sort()) {
    try {
      const m = JSON.parse(readFileSync(join(CORPUS, name), 'utf8')) as { files?: unknown };
      if (!Array.isArray(m.files)) throw new Error('no "files" array');
      for (const f of m.files as Entry[]) {
        if (typeof f?.path !== 'string' || typeof f.real !== 'boolean' || (f.expect !== 'imports' && typeof (f.expect as { refused?: unknown })?.refused !== 'string')) {
          throw new Error(`entry ${JSON.stringify(f).slice(0, 120)} lacks path, real or expect`);
        }
        entries.push({ ...f, manifest: name });
      }
    } catch (error) {
      broken.push({ manifest: name, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return { entries, broken };
}

const { entries, broken } = readManifests();

type Outcome = 'imported' | 'refused as expected' | 'failed';
const outcomes = new Map<Listed, { outcome: Outcome; detail: string; ms: number }>();

describe('real-model corpus (main/engine/import/corpus/*.json)', () => {
  it.each(broken.map((b) => [b.manifest, b.error] as const))('manifest %s reads', (_name, error) => {
    expect.fail(error);
  });

  it.each(entries.map((e) => [`${e.manifest}: ${e.path}`, e] as const))('%s', async (_label, e) => {
    const t0 = performance.now();
    const done = (outcome: Outcome, detail: string) => outcomes.set(e, { outcome, detail, ms: performance.now() - t0 });
    done('failed', 'did not finish');
    const file = join(CORPUS, e.path);
    expect(existsSync(file), `${e.path} is listed in ${e.manifest} but is not in the corpus`).toBe(true);
    let result: Awaited<ReturnType<typeof importModelPath>> | undefined;
    let error: unknown;
    try {
      result = await importModelPath(file, e.dims ? { dims: e.dims } : {});
    } catch (err) {
      error = err;
    }
    if (e.expect === 'imports') {
      if (error) done('failed', error instanceof Error ? error.message : String(error));
      expect(error, `${e.what}: expected to import`).toBeUndefined();
      const params = analyzeGraph(result!.project.graph).totals.params;
      if (e.params !== null && e.params !== undefined && params !== e.params) done('failed', `params ${params}, the source states ${e.params}`);
      if (e.params !== null && e.params !== undefined) expect(params, `${e.what}: parameter total`).toBe(e.params);
      if (e.format) expect(result!.kind, `${e.what}: format found`).toBe(e.format);
      done('imported', `${params} params${result!.assumed.length ? `, assumed ${result!.assumed.map((d) => `${d.key}=${d.value}`).join(' ')}` : ''}`);
    } else {
      const want = e.expect.refused;
      if (!error) done('failed', 'imported, but the manifest expects a refusal');
      expect(error, `${e.what}: expected a refusal naming '${want}'`).toBeInstanceOf(ModelImportError);
      const message = (error as Error).message;
      if (!message.includes(want)) done('failed', `refused without naming '${want}': ${message}`);
      expect(message).toContain(want);
      done('refused as expected', message.slice(0, 160));
    }
  });

  afterAll(() => {
    if (!entries.length) {
      console.log('[corpus] no manifests under main/engine/import/corpus yet');
      return;
    }
    const formats = [...new Set(entries.map((e) => `${e.manifest.replace(/\.json$/, '')} / ${e.format}`))].sort();
    const rows = formats.map((f) => {
      const of = entries.filter((e) => `${e.manifest.replace(/\.json$/, '')} / ${e.format}` === f);
      const count = (o: Outcome, real?: boolean) => of.filter((e) => outcomes.get(e)?.outcome === o && (real === undefined || e.real === real)).length;
      return `  ${f.padEnd(34)} ${String(of.length).padStart(3)} files (${of.filter((e) => e.real).length} real): ${count('imported')} imported, ${count('refused as expected')} refused as expected, ${count('failed')} failed`;
    });
    const real = entries.filter((e) => e.real);
    const realImported = real.filter((e) => outcomes.get(e)?.outcome === 'imported').length;
    const failures = entries.filter((e) => outcomes.get(e)?.outcome === 'failed').map((e) => `  FAILED ${e.manifest}: ${e.path}: ${outcomes.get(e)?.detail}`);
    const refusals = entries.filter((e) => outcomes.get(e)?.outcome === 'refused as expected').map((e) => `  refused ${e.path}: ${outcomes.get(e)?.detail}`);
    console.log(
      [
        `[corpus] ${entries.length} files, ${real.length} real; real files imported: ${realImported}/${real.length} (${real.length ? ((realImported / real.length) * 100).toFixed(1) : '-'}%)`,
        ...rows,
        ...refusals,
        ...failures,
      ].join('\n'),
    );
  });

  it('imports at least 95% of the real files (issue #15)', async () => {
    // Runs after the per-file cases (vitest runs a file's tests in order); imports any file they did not reach.
    const real = entries.filter((e) => e.real);
    if (!real.length) return;
    for (const e of real) {
      if (outcomes.has(e)) continue;
      const ok = await importModelPath(join(CORPUS, e.path), e.dims ? { dims: e.dims } : {}).then(
        () => true,
        () => false,
      );
      outcomes.set(e, { outcome: ok ? 'imported' : 'failed', detail: ok ? '' : 'did not import', ms: 0 });
    }
    const imported = real.filter((e) => outcomes.get(e)?.outcome === 'imported');
    const missing = real.filter((e) => outcomes.get(e)?.outcome !== 'imported').map((e) => e.path);
    expect(imported.length / real.length, `real files not imported: ${missing.join(', ')}`).toBeGreaterThanOrEqual(0.95);
  });
});
