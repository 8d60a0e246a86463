import { describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureWindowState, fileWindowStateStore, isReachable, parseWindowState, restoreWindowState, serializeWindowState, trackWindowState, type WindowState } from './windowState';

const D = { width: 1440, height: 900, minWidth: 960, minHeight: 600 };
const laptop = [{ x: 0, y: 0, width: 1920, height: 1050 }];
const twoScreens = [...laptop, { x: 1920, y: 0, width: 2560, height: 1400 }];

function fakeWindow(bounds = { x: 100, y: 80, width: 1200, height: 800 }) {
  const handlers = new Map<string, () => void>();
  const w = {
    bounds,
    normal: bounds,
    maximized: false,
    getBounds: () => w.bounds,
    getNormalBounds: () => w.normal,
    isMaximized: () => w.maximized,
    isMinimized: () => false,
    isFullScreen: () => false,
    isDestroyed: () => false,
    on: (e: string, fn: () => void) => {
      handlers.set(e, fn);
      return w;
    },
    emit: (e: string) => handlers.get(e)?.(),
  };
  return w;
}

describe('window state', () => {
  it('save and restore: size, position and maximized come back (in a file in userData)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'lf-win-')), 'window-state.json');
    const store = fileWindowStateStore(file);
    expect(store.load()).toBeNull();
    const saved: WindowState = { x: 2000, y: 100, width: 1600, height: 1000, maximized: true };
    store.save(saved);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ format: 'layerforge-window-state', ...saved });
    expect(restoreWindowState(store.load(), twoScreens, D)).toEqual(saved);
  });

  it('a position off every display is dropped (the window is centred), the size kept', () => {
    // Saved on the second monitor, which is unplugged now.
    const saved: WindowState = { x: 2000, y: 100, width: 1600, height: 1000, maximized: false };
    expect(restoreWindowState(saved, laptop, D)).toEqual({ width: 1600, height: 1000, maximized: false });
    // Title bar above the top of the screen, or only a sliver visible at an edge.
    expect(restoreWindowState({ ...saved, x: 100, y: -300 }, laptop, D).x).toBeUndefined();
    expect(restoreWindowState({ ...saved, x: 1900, y: 100 }, laptop, D).x).toBeUndefined();
    expect(restoreWindowState({ ...saved, x: -1590, y: 100 }, laptop, D).x).toBeUndefined();
    // Partly off the edge but grabbable: kept.
    expect(restoreWindowState({ ...saved, x: 1500, y: 100 }, laptop, D)).toMatchObject({ x: 1500, y: 100 });
  });

  it('a size larger than today’s largest display is shrunk to fit; smaller than the minimum is grown', () => {
    expect(restoreWindowState({ width: 5000, height: 3000, maximized: false }, laptop, D)).toEqual({ width: 1920, height: 1050, maximized: false });
    expect(restoreWindowState({ width: 200, height: 100, maximized: false }, laptop, D)).toEqual({ width: 960, height: 600, maximized: false });
    expect(restoreWindowState(null, laptop, D)).toEqual({ width: 1440, height: 900, maximized: false });
  });

  it('malformed or foreign files are ignored', () => {
    for (const text of [null, '', '{', '[]', '{"format":"x","width":10,"height":10}', JSON.stringify({ format: 'layerforge-window-state', width: -5, height: 10 }), JSON.stringify({ format: 'layerforge-window-state', width: 1.5, height: 10 })]) {
      expect(parseWindowState(text)).toBeNull();
    }
    expect(parseWindowState(serializeWindowState({ width: 1000, height: 700, maximized: false, x: 5, y: 'a' as unknown as number }))).toEqual({ width: 1000, height: 700, maximized: false });
  });

  it('isReachable: the title strip must overlap a work area', () => {
    expect(isReachable({ x: 10, y: 10, width: 800, height: 600 }, laptop)).toBe(true);
    expect(isReachable({ x: 3000, y: 10, width: 800, height: 600 }, laptop)).toBe(false);
    expect(isReachable({ x: 3000, y: 10, width: 800, height: 600 }, twoScreens)).toBe(true);
  });

  it('tracks moves and resizes (debounced) and saves the normal bounds of a maximized window at close', () => {
    const win = fakeWindow();
    const save = vi.fn();
    const pending: (() => void)[] = [];
    const timers = { set: ((fn: () => void) => (pending.push(fn), pending.length)) as unknown as typeof setTimeout, clear: (() => {}) as typeof clearTimeout };
    trackWindowState(win as never, { save }, 500, timers);
    win.emit('move');
    win.emit('resize');
    expect(save).not.toHaveBeenCalled();
    pending.at(-1)!();
    expect(save).toHaveBeenLastCalledWith({ x: 100, y: 80, width: 1200, height: 800, maximized: false });
    win.maximized = true;
    win.bounds = { x: 0, y: 0, width: 1920, height: 1050 };
    win.emit('close');
    expect(save).toHaveBeenLastCalledWith({ x: 100, y: 80, width: 1200, height: 800, maximized: true });
    expect(captureWindowState(win as never).maximized).toBe(true);
  });

  it('a state file that cannot be written is ignored (read-only profile)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lf-win-ro-'));
    writeFileSync(join(dir, 'file'), 'x');
    const store = fileWindowStateStore(join(dir, 'file', 'window-state.json'));
    expect(() => store.save({ width: 1000, height: 700, maximized: false })).not.toThrow();
  });
});
