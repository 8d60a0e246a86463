/**
 * The ONE way the big-graph figures are measured, shared by the bench (scripts/bench/ui.ts) and the e2e
 * journeys (e2e/ui-perf.spec.ts, e2e/editor-perf.spec.ts): the same browser settings, the same clocks and
 * the same drag.
 *
 * Clocks run inside the page (performance.now()), from the event that hands the app its work to the
 * first frame after the app's state says the work is done, so neither Playwright's round trips nor its
 * polling intervals (up to 500 ms for an auto-retrying assertion) are counted:
 *  - open: from the file input's `change` event (the chosen file reaches the page) to the frame after
 *    the canvas is drawn: the view fitted to the loaded project (the canvas's data-fitted equals its
 *    data-load), every node React Flow draws measured (none hidden), and the totals shown;
 *  - layout: from the `L` keydown to the frame after the layout is committed (an undo step), the view
 *    fitted to it (the canvas's data-fits counter moved) and every drawn node measured.
 * Drag frame times: frames.ts (requestAnimationFrame gaps during a real mouse drag), always DRAG's moves.
 *
 * Playwright's trace recording (the e2e config's `trace: 'retain-on-failure'`) takes DOM snapshots and
 * screencast frames during the measurement and about doubles these figures: the perf journeys turn it
 * off (see PERF_TEST_USE).
 */
import type { Locator, Page } from '@playwright/test';
import { dragFrames, type DragResult } from './frames';

/** The window both harnesses use (the e2e config's viewport). */
export const UI_VIEWPORT = { width: 1280, height: 800 } as const;

/** Debian's Chromium, headless, as the e2e config launches it (playwright.config.ts keeps the same list). */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Settings for a perf journey's test.use(): the viewport above, device scale 1, and no trace recording. */
export const PERF_TEST_USE = { viewport: UI_VIEWPORT, deviceScaleFactor: 1, trace: 'off' } as const;

/** One measured drag: 60 mouse moves of 4 px (30 out, 30 back), frames timed while the button is down. */
export const DRAG = { steps: 60, stepPx: 4 } as const;

/**
 * tsx (which runs the bench) compiles named inner functions to __name(...) calls, which the page lacks;
 * a string is evaluated as is.
 */
async function nameShim(page: Page): Promise<void> {
  await page.evaluate('globalThis.__name = globalThis.__name || ((f) => f)');
}

interface Drawn {
  /** performance.now() at the frame after the state held. */
  at: number;
  nodes: number;
}

interface WaitOptions {
  /** open: also the totals shown; layout: also the layout committed and the view fitted after it; view: neither. */
  kind: 'open' | 'layout' | 'view';
  fitsBefore: number;
  timeoutMs: number;
}

/**
 * In the page: resolves at the first frame after the canvas is drawn for `kind` (see the file's comment),
 * or rejects with what was still missing after timeoutMs.
 */
async function waitDrawn(page: Page, options: WaitOptions): Promise<Drawn> {
  await nameShim(page);
  return page.evaluate(
    ({ kind, fitsBefore, timeoutMs }) =>
      new Promise<{ at: number; nodes: number }>((resolve, reject) => {
        const deadline = performance.now() + timeoutMs;
        const missing = (): string | null => {
          const canvas = document.querySelector<HTMLElement>('[data-testid="canvas"]');
          if (!canvas) return 'no canvas';
          const load = canvas.dataset.load ?? '';
          if (load === '' || load === '0') return 'no project loaded';
          if (canvas.dataset.fitted !== load) return `view not fitted to load ${load} (fitted: ${canvas.dataset.fitted ?? 'none'})`;
          if (kind === 'layout') {
            const undo = document.querySelector<HTMLButtonElement>('[data-testid="btn-undo"]');
            if (!undo || undo.disabled) return 'layout not committed (undo disabled)';
            if (Number(canvas.dataset.fits ?? 0) <= fitsBefore) return 'view not fitted after the layout';
          }
          if (kind === 'open' && !document.querySelector('[data-testid="total-params"]')?.textContent) return 'no totals';
          const nodes = canvas.querySelectorAll<HTMLElement>('.react-flow__node');
          if (nodes.length === 0) return 'no node drawn';
          for (const n of nodes) if (n.style.visibility === 'hidden') return 'nodes not measured yet';
          return null;
        };
        let last = 'not checked';
        const tick = () => {
          const m = missing();
          if (m === null) {
            const count = document.querySelectorAll('[data-testid="canvas"] .react-flow__node').length;
            requestAnimationFrame((t) => resolve({ at: t, nodes: count }));
            return;
          }
          last = m;
          if (performance.now() > deadline) reject(new Error(`the canvas was not drawn within ${timeoutMs} ms: ${last}`));
          else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      }),
    options,
  );
}

/**
 * Waits (no clock) until the canvas is drawn: a project loaded, its view fitted, every node React Flow
 * draws measured, and one more frame painted. For waits after a zoom or a pan.
 */
export async function canvasDrawn(page: Page, timeoutMs = 30_000): Promise<void> {
  await waitDrawn(page, { kind: 'view', fitsBefore: 0, timeoutMs });
}

/** Records, in the page, the time of the next file-input `change` or `key` keydown (capture phase). */
async function armStart(page: Page, type: 'change' | 'keydown', key?: string): Promise<void> {
  await nameShim(page);
  await page.evaluate(
    ({ type, key }) => {
      const w = window as unknown as { __lfClockStart?: number | null };
      w.__lfClockStart = null;
      const on = (e: Event) => {
        if (type === 'change' && !(e.target instanceof HTMLInputElement && e.target.type === 'file')) return;
        if (type === 'keydown' && (e as KeyboardEvent).key.toLowerCase() !== key) return;
        // The event's own time (when the input reached the page), so a busy main thread's delay in
        // dispatching it is counted too.
        w.__lfClockStart = e.timeStamp;
        window.removeEventListener(type, on, true);
      };
      window.addEventListener(type, on, true);
    },
    { type, key },
  );
}

async function clockStart(page: Page): Promise<number> {
  const t = await page.evaluate(() => (window as unknown as { __lfClockStart?: number | null }).__lfClockStart ?? null);
  if (t === null) throw new Error('the clock never started (the starting event did not reach the page)');
  return t;
}

export interface OpenResult {
  openMs: number;
  /** React Flow nodes in the DOM when drawn (culling draws only those on screen). */
  nodes: number;
}

/** Opens `file` through the start screen's Open button (a file chooser), as a user does; the open clock. */
export async function openProjectTimed(page: Page, file: string, timeoutMs = 60_000): Promise<OpenResult> {
  await armStart(page, 'change');
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByTestId('start-open').click()]);
  await chooser.setFiles(file);
  const drawn = await waitDrawn(page, { kind: 'open', fitsBefore: 0, timeoutMs });
  return { openMs: drawn.at - (await clockStart(page)), nodes: drawn.nodes };
}

export interface LayoutResult {
  layoutMs: number;
  nodes: number;
}

/** Auto-layout with the L key (focus on the canvas pane first); the layout clock. */
export async function layoutTimed(page: Page, timeoutMs = 60_000): Promise<LayoutResult> {
  await page.locator('.react-flow__pane').click({ position: { x: 5, y: 5 } });
  const fitsBefore = Number((await page.getByTestId('canvas').getAttribute('data-fits')) ?? 0);
  await armStart(page, 'keydown', 'l');
  await page.keyboard.press('l');
  const drawn = await waitDrawn(page, { kind: 'layout', fitsBefore, timeoutMs });
  return { layoutMs: drawn.at - (await clockStart(page)), nodes: drawn.nodes };
}

/** The 500-node journey's figures: open, layout, and their sum (the < 2 s target). */
export interface BigGraphTimes extends OpenResult, LayoutResult {
  totalMs: number;
  /** Nodes in the DOM after opening / after the layout. */
  openNodes: number;
}

export async function openAndLayoutTimed(page: Page, file: string): Promise<BigGraphTimes> {
  const open = await openProjectTimed(page, file);
  const layout = await layoutTimed(page);
  return { ...open, ...layout, openNodes: open.nodes, totalMs: open.openMs + layout.layoutMs };
}

/** The zoom of the canvas's viewport now. */
export async function canvasZoom(page: Page): Promise<number> {
  return page.evaluate(() => {
    const vp = document.querySelector<HTMLElement>('.react-flow__viewport');
    const m = vp ? /scale\(([\d.]+)\)/.exec(vp.style.transform) : null;
    return m ? Number(m[1]) : 1;
  });
}

/** The measured drag of a node by its header (DRAG's moves). */
export function dragNode(page: Page, node: Locator): Promise<DragResult> {
  return dragFrames(page, node.locator('.lf-node-head'), DRAG.steps, DRAG.stepPx);
}

/** One line with a drag's figures. */
export function dragLine(d: DragResult): string {
  const f = (v: number | null) => (v == null ? '-' : v.toFixed(1));
  return `p95 ${f(d.p95)} ms, median ${f(d.median)} ms, max ${f(d.max)} ms over ${d.frames.length} frames (${d.steps} moves in ${d.ms} ms)`;
}
