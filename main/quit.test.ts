import { describe, expect, it, vi } from 'vitest';
import { quitAfterEngine } from './quit';

function fakes(dispose: () => Promise<unknown>) {
  const handlers = new Map<string, ((e: { preventDefault(): void }) => void)[]>();
  const signals = new Map<string, () => void>();
  const app = {
    on: vi.fn((name: string, cb: (e: { preventDefault(): void }) => void) => handlers.set(name, [...(handlers.get(name) ?? []), cb])),
    quit: vi.fn(() => {
      const e = { prevented: false, preventDefault() { this.prevented = true; } };
      for (const h of handlers.get('before-quit') ?? []) h(e);
      if (!e.prevented) app.exited = 0;
    }),
    exit: vi.fn((code: number) => (app.exited = code)),
    exited: null as number | null,
  };
  const proc = { on: vi.fn((sig: string, cb: () => void) => signals.set(sig, cb)) };
  const engine = { dispose: vi.fn(dispose) };
  quitAfterEngine(app as never, engine, proc as never, 50);
  return { app, engine, signals };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('quitting the desktop app', () => {
  it('waits for the engine to stop and save, then quits once', async () => {
    let release!: () => void;
    const { app, engine } = fakes(() => new Promise<void>((r) => (release = r)));
    app.quit();
    expect(app.exited).toBeNull();
    expect(engine.dispose).toHaveBeenCalledWith({ graceMs: 50 });
    app.quit(); // a second Quit while saving changes nothing
    expect(engine.dispose).toHaveBeenCalledTimes(1);
    release();
    await tick();
    await tick();
    expect(app.exited).toBe(0);
  });

  it('quits even when the engine fails to shut down', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const { app } = fakes(() => Promise.reject(new Error('boom')));
    app.quit();
    await tick();
    await tick();
    expect(app.exited).toBe(0);
    expect(error).toHaveBeenCalled();
    error.mockRestore();
  });

  it('SIGINT and SIGTERM quit the same way; a second signal exits at once', () => {
    const { app, engine, signals } = fakes(() => new Promise(() => {}));
    signals.get('SIGTERM')!();
    expect(engine.dispose).toHaveBeenCalledTimes(1);
    expect(app.exited).toBeNull();
    signals.get('SIGINT')!();
    expect(app.exit).toHaveBeenCalledWith(130);
  });
});
