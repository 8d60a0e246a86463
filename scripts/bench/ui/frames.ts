/**
 * Frame timing in the page: a requestAnimationFrame loop records timestamps while Playwright drags a
 * node in small steps; frame times are the gaps between consecutive frames.
 */
import type { Locator, Page } from '@playwright/test';

interface FrameWindow {
  __lfFrames?: { on: boolean; stamps: number[] };
}

export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function median(values: readonly number[]): number | null {
  return percentile(values, 50);
}

export async function startFrames(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as FrameWindow;
    const rec = { on: true, stamps: [] as number[] };
    w.__lfFrames = rec;
    const tick = (t: number) => {
      if (!rec.on) return;
      rec.stamps.push(t);
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

/** Stops recording and returns the frame times (ms between consecutive frames). */
export async function stopFrames(page: Page): Promise<number[]> {
  const stamps = await page.evaluate(() => {
    const w = window as unknown as FrameWindow;
    const rec = w.__lfFrames;
    if (!rec) return [];
    rec.on = false;
    return rec.stamps;
  });
  const gaps: number[] = [];
  for (let i = 1; i < stamps.length; i++) gaps.push(stamps[i]! - stamps[i - 1]!);
  return gaps;
}

export interface DragResult {
  frames: number[];
  p95: number | null;
  median: number | null;
  max: number | null;
  steps: number;
  movedPx: number;
  ms: number;
}

/**
 * Drags `handle` (a node's header) along a path of `steps` small moves (back and forth), recording
 * frame times only while the mouse is down.
 */
export async function dragFrames(page: Page, handle: Locator, steps = 80, stepPx = 4): Promise<DragResult> {
  const box = await handle.boundingBox();
  if (!box) throw new Error('drag: the node has no box (not visible?)');
  const start = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  await page.mouse.move(start.x, start.y);
  await page.mouse.down();
  await startFrames(page);
  const t0 = Date.now();
  let mid: { x: number; y: number } | null = null;
  for (let i = 1; i <= steps; i++) {
    if (i === Math.floor(steps / 2) + 1) mid = await handle.boundingBox();
    // Out and back, so the node ends near where it started and stays on screen.
    const k = i <= steps / 2 ? i : steps - i;
    await page.mouse.move(start.x + k * stepPx, start.y + k * (stepPx / 2));
  }
  const ms = Date.now() - t0;
  const frames = await stopFrames(page);
  await page.mouse.up();
  return {
    frames,
    p95: percentile(frames, 95),
    median: median(frames),
    max: frames.length ? Math.max(...frames) : null,
    steps,
    movedPx: mid ? Math.round(Math.hypot(mid.x - box.x, mid.y - box.y)) : 0,
    ms,
  };
}
