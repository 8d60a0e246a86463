/**
 * A look inside the UI figures: CPU profile (Chrome DevTools protocol) of one journey, summarised as the
 * functions with the most self time. Not part of `npm run bench`; run it by hand:
 *   npx tsx scripts/bench/ui/profile.ts open|layout|drag|train|train-closed   (needs out/web)
 * train: a cifar10-cnn run of 5 x LF_PROF_IMAGES (384) tiny-CIFAR images with the dashboard open (LF_TRACE=1: trace events).
 * Also counts React Flow node renders (the app's window.__lfRenderCounts hook).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type CDPSession, type Page } from '@playwright/test';
import { serializeProject } from '../../../shared/project';
import { writeTinyCifar10 } from '../../../main/engine/service/tinyCifar';
import { bigResidualProject } from './bigGraph';
import { dragFrames } from './frames';
import { startServe } from './server';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

function summarise(profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }, top = 25): string[] {
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const byFn = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    const ms = self.get(n.id) ?? 0;
    total += ms;
    const file = n.callFrame.url.split('/').pop() ?? '';
    const key = `${n.callFrame.functionName || '(anon)'} ${file}:${n.callFrame.lineNumber}`;
    byFn.set(key, (byFn.get(key) ?? 0) + ms);
  }
  const lines = [`total ${total.toFixed(0)} ms`, ...[...byFn.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => `${v.toFixed(1).padStart(8)} ms  ${k}`)];
  // Inclusive time of named functions (each sample counted once per function on its stack): with a
  // non-minified build (`npx vite build --config renderer/vite.config.ts --minify false`) these are the
  // components (LayerNodeView, NodeWrapper, EdgeWrapper, MiniMap...) and the app's functions.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const inclusive = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = byId.get(at)?.callFrame.functionName;
      if (name && !seen.has(name)) {
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
      }
    }
  });
  const named = process.env.LF_PROFILE_ALL ? /./ : /^[A-Z][A-Za-z0-9]*$|^(nodes|edges|analyzeDoc|analyzeGraph|adoptUserNodes|updateNodeInternals|fastLayeredLayout|layoutDoc|commit|onNodesChange)$/;
  lines.push('inclusive time of components and app functions:');
  lines.push(...[...inclusive.entries()].filter(([k]) => named.test(k)).sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => `${v.toFixed(1).padStart(8)} ms  ${k}`));
  return lines;
}

/** Main-thread time by trace event (script, style, layout, paint), from a Chrome trace of `fn`. */
async function traced(page: Page, fn: () => Promise<void>): Promise<string[]> {
  const browser = page.context().browser()!;
  await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] });
  await fn();
  const buf = await browser.stopTracing();
  // tdur: the thread's CPU time (robust to a loaded machine); dur: wall time.
  const raw = (JSON.parse(buf.toString()) as { traceEvents: { name: string; ph: string; dur?: number; tdur?: number; tid: number; pid: number; args?: { data?: { frame?: string } } }[] }).traceEvents;
  const events = raw.map((e) => ({ ...e, dur: e.tdur ?? e.dur }));
  // The renderer main thread: the thread with the most 'RunTask' time that also has 'FunctionCall' events.
  const byThread = new Map<string, number>();
  for (const e of events) if (e.name === 'FunctionCall' && e.dur) byThread.set(`${e.pid}:${e.tid}`, (byThread.get(`${e.pid}:${e.tid}`) ?? 0) + e.dur);
  const main = [...byThread.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const names = ['RunTask', 'FunctionCall', 'EvaluateScript', 'UpdateLayoutTree', 'Layout', 'PrePaint', 'Paint', 'Layerize', 'Commit', 'MinorGC', 'MajorGC', 'ParseHTML', 'HitTest', 'EventDispatch', 'FireAnimationFrame', 'TimerFire'];
  const sums = new Map<string, { ms: number; n: number }>();
  for (const e of events) {
    if (`${e.pid}:${e.tid}` !== main || e.ph !== 'X' || !e.dur || !names.includes(e.name)) continue;
    const s = sums.get(e.name) ?? { ms: 0, n: 0 };
    s.ms += e.dur / 1000;
    s.n++;
    sums.set(e.name, s);
  }
  // Script entry points (what called into JavaScript, and how often).
  const calls = new Map<string, { ms: number; n: number }>();
  for (const e of events) {
    if (`${e.pid}:${e.tid}` !== main || e.name !== 'FunctionCall' || !e.dur) continue;
    const d = (e.args?.data ?? {}) as { functionName?: string; url?: string; lineNumber?: number };
    const key = `${d.functionName || '(anon)'} ${(d.url ?? '').split('/').pop()}:${d.lineNumber ?? ''}`;
    const c = calls.get(key) ?? { ms: 0, n: 0 };
    c.ms += e.dur / 1000;
    c.n++;
    calls.set(key, c);
  }
  const fmt = (m: Map<string, { ms: number; n: number }>) => [...m.entries()].sort((a, b) => b[1].ms - a[1].ms).map(([k, v]) => `${v.ms.toFixed(1).padStart(8)} ms  ${k} (${v.n}x)`);
  return ['main thread, CPU time by trace event:', ...fmt(sums), 'script entry points:', ...fmt(calls).slice(0, 12)];
}

async function profiled(cdp: CDPSession, fn: () => Promise<void>): Promise<string[]> {
  if (process.env.LF_TRACE) return traced(cdpPage!, fn);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  await fn();
  const { profile } = (await cdp.send('Profiler.stop')) as unknown as { profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] } };
  return summarise(profile);
}

let cdpPage: Page | null = null;
const counts = (page: Page) => page.evaluate(() => Object.values((window as unknown as { __lfRenderCounts: Record<string, number> }).__lfRenderCounts).reduce((a, b) => a + b, 0));

async function main(what: string): Promise<void> {
  const server = await startServe({ ports: [4194, 4199] });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript({ content: 'globalThis.__name = globalThis.__name || ((f) => f); window.__lfRenderCounts = {};' });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    cdpPage = page;
    const dir = mkdtempSync(join(tmpdir(), 'lf-prof-'));
    const file = join(dir, 'big.layerforge.json');
    writeFileSync(file, serializeProject(bigResidualProject(500)));
    await page.goto(server.url);
    await page.getByTestId('start-screen').waitFor();
    const open = async () => {
      const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByTestId('start-open').click()]);
      await chooser.setFiles(file);
      await page.getByTestId('total-params').waitFor();
      await page.waitForTimeout(1500);
    };
    const layout = async () => {
      await page.keyboard.press('l');
      await page.waitForFunction(() => !(document.querySelector('[data-testid="btn-undo"]') as HTMLButtonElement).disabled);
      await page.waitForTimeout(1500);
    };
    if (what === 'train' || what === 'train-closed') {
      const cifar = writeTinyCifar10(mkdtempSync(join(tmpdir(), 'lf-prof-cifar-')), Number(process.env.LF_PROF_IMAGES ?? 384), 100);
      await page.getByTestId('template-cifar10-cnn').click();
      await page.getByTestId('tab-train').click();
      await page.getByTestId('training-panel').getByText('Import from disk…').click();
      await page.getByTestId('import-path').fill(cifar);
      await page.getByTestId('import-button').click();
      await page.locator('[data-testid="dataset-status"][data-status="ready"]').waitFor({ timeout: 60_000 });
      await page.getByTestId('setting-epochs').fill('1');
      await page.getByTestId('setting-batchSize').fill('64');
      await page.getByTestId('setting-backend').selectOption('wasm');
      await page.getByTestId('train-start').click();
      await page.locator('[data-testid="live"][data-status="running"]').waitFor({ timeout: 120_000 });
      if (what === 'train') await page.getByTestId('open-dashboard').click();
      const sample = () => execFileSync('ps', ['-eo', 'pid,ppid,pcpu,rss,etimes,args', '--sort=-pcpu'], { encoding: 'utf8' }).split('\n').slice(0, 12).map((l) => l.slice(0, 160)).join('\n');
      const lines = await profiled(cdp, async () => {
        await page.waitForTimeout(3000);
        console.log(sample());
        await page.locator('[data-testid="live"][data-status="completed"]').waitFor({ timeout: 300_000 });
      });
      console.log(lines.join('\n'));
      console.log('img/s', await page.getByTestId('stat-speed').textContent());
      return;
    }
    if (what === 'open') {
      console.log((await profiled(cdp, open)).join('\n'));
      console.log(`node renders: ${await counts(page)}`);
      return;
    }
    await open();
    if (what === 'layout') {
      const before = await counts(page);
      console.log((await profiled(cdp, layout)).join('\n'));
      console.log(`node renders during layout: ${(await counts(page)) - before}`);
      return;
    }
    await layout();
    const before = await counts(page);
    let result: Awaited<ReturnType<typeof dragFrames>> | null = null;
    console.log(
      (
        await profiled(cdp, async () => {
          result = await dragFrames(page, page.getByTestId('node-conv2d_80a').locator('.lf-node-head'));
        })
      ).join('\n'),
    );
    const r = result as Awaited<ReturnType<typeof dragFrames>> | null;
    console.log(`drag p95 ${r?.p95} ms median ${r?.median} max ${r?.max}, ${r?.frames.length} frames; node renders during drag: ${(await counts(page)) - before}`);
  } finally {
    await browser.close();
    await server.stop();
  }
}

await main(process.argv[2] ?? 'layout');
