/**
 * The main window's size, position and maximized state, remembered in `<userData>/window-state.json`.
 * A saved position is used only when the window would still be reachable on one of the current displays
 * (a monitor unplugged since, a resolution changed): otherwise the size is kept and the window centred,
 * never opened off-screen. Electron pieces (screen, the window) are passed in: unit-tested without Electron.
 */
import type { BrowserWindow, Rectangle } from 'electron';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface WindowState {
  /** Absent: centred by the OS. */
  x?: number;
  y?: number;
  width: number;
  height: number;
  maximized: boolean;
}

export interface WindowStateDefaults {
  width: number;
  height: number;
  minWidth: number;
  minHeight: number;
}

const FORMAT = 'layerforge-window-state';
/** How much of the window (its top strip, where the title bar is) must be on a display: px. */
const MIN_VISIBLE_WIDTH = 120;
const MIN_VISIBLE_HEIGHT = 40;

const int = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 1e6;

/** Reads a saved state; anything malformed gives null (then the defaults are used). */
export function parseWindowState(text: string | null): WindowState | null {
  if (!text) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Record<string, unknown>;
  if (r.format !== FORMAT || !int(r.width) || !int(r.height) || r.width <= 0 || r.height <= 0) return null;
  const state: WindowState = { width: r.width, height: r.height, maximized: r.maximized === true };
  if (int(r.x) && int(r.y)) {
    state.x = r.x;
    state.y = r.y;
  }
  return state;
}

export function serializeWindowState(s: WindowState): string {
  return `${JSON.stringify({ format: FORMAT, version: 1, ...s })}\n`;
}

/** True when the window's top strip (title bar) overlaps a display's work area enough to grab it. */
export function isReachable(bounds: Rectangle, workAreas: readonly Rectangle[]): boolean {
  const strip = { x: bounds.x, y: bounds.y, width: bounds.width, height: Math.min(bounds.height, MIN_VISIBLE_HEIGHT) };
  return workAreas.some((a) => {
    const w = Math.min(strip.x + strip.width, a.x + a.width) - Math.max(strip.x, a.x);
    const h = Math.min(strip.y + strip.height, a.y + a.height) - Math.max(strip.y, a.y);
    return w >= Math.min(MIN_VISIBLE_WIDTH, strip.width) && h >= Math.min(MIN_VISIBLE_HEIGHT, strip.height) && bounds.y >= a.y - 1;
  });
}

/**
 * The state to open the window with: the saved one fitted to today's displays. The size is clamped to the
 * largest work area (and the minimum size); a position that is not reachable is dropped (centred instead).
 */
export function restoreWindowState(saved: WindowState | null, workAreas: readonly Rectangle[], d: WindowStateDefaults): WindowState {
  const maxW = Math.max(d.minWidth, ...workAreas.map((a) => a.width));
  const maxH = Math.max(d.minHeight, ...workAreas.map((a) => a.height));
  if (!saved) return { width: Math.min(d.width, maxW), height: Math.min(d.height, maxH), maximized: false };
  const width = Math.max(d.minWidth, Math.min(saved.width, maxW));
  const height = Math.max(d.minHeight, Math.min(saved.height, maxH));
  const out: WindowState = { width, height, maximized: saved.maximized };
  if (saved.x !== undefined && saved.y !== undefined && isReachable({ x: saved.x, y: saved.y, width, height }, workAreas)) {
    out.x = saved.x;
    out.y = saved.y;
  }
  return out;
}

type TrackedWindow = Pick<BrowserWindow, 'getNormalBounds' | 'getBounds' | 'isMaximized' | 'isMinimized' | 'isFullScreen' | 'on' | 'isDestroyed'>;

/** The state to save now: the normal (not maximized) bounds, so un-maximizing after a restart goes back there. */
export function captureWindowState(win: TrackedWindow): WindowState {
  const b = win.isMaximized() || win.isMinimized() || win.isFullScreen() ? win.getNormalBounds() : win.getBounds();
  return { x: b.x, y: b.y, width: b.width, height: b.height, maximized: win.isMaximized() };
}

export interface WindowStateStore {
  load(): WindowState | null;
  save(state: WindowState): void;
}

/** The state file in userData, written atomically (temporary file + rename). Failures are ignored: it is a convenience. */
export function fileWindowStateStore(file: string): WindowStateStore {
  return {
    load() {
      try {
        return parseWindowState(readFileSync(file, 'utf8'));
      } catch {
        return null;
      }
    },
    save(state) {
      try {
        mkdirSync(dirname(file), { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, serializeWindowState(state));
        renameSync(tmp, file);
      } catch {
        // read-only profile, full disk: the next start uses the defaults
      }
    },
  };
}

/**
 * Saves the window's state when it is moved, resized, maximized or restored (after `delayMs` of quiet)
 * and at once when it closes. Returns a function that saves now.
 */
export function trackWindowState(win: TrackedWindow, store: Pick<WindowStateStore, 'save'>, delayMs = 500, timers: { set: typeof setTimeout; clear: typeof clearTimeout } = { set: setTimeout, clear: clearTimeout }): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const saveNow = () => {
    timers.clear(timer);
    timer = undefined;
    if (!win.isDestroyed()) store.save(captureWindowState(win));
  };
  const later = () => {
    timers.clear(timer);
    timer = timers.set(saveNow, delayMs);
  };
  for (const e of ['resize', 'move', 'maximize', 'unmaximize'] as const) win.on(e as 'resize', later);
  win.on('close', saveNow);
  return saveNow;
}
