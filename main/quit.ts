/**
 * Quitting the desktop app ends the engine first, as Ctrl+C ends `layerforge serve`: a running training is
 * stopped (finish the batch, save the model) within a short grace, every worker thread ends, then the app
 * exits. SIGINT and SIGTERM (e.g. from `npm start`'s terminal) quit the same way. The Electron pieces are
 * passed in, so this is testable without Electron.
 */
import type { App } from 'electron';

/** How long a quit waits for running trainings to save (as serve's SHUTDOWN_GRACE_MS). */
export const QUIT_GRACE_MS = 1500;

export interface Disposable {
  dispose(options?: { graceMs?: number }): Promise<unknown>;
}

export function quitAfterEngine(app: Pick<App, 'on' | 'quit' | 'exit'>, engine: Disposable, proc: Pick<NodeJS.Process, 'on'> = process, graceMs = QUIT_GRACE_MS): void {
  let state: 'running' | 'stopping' | 'done' = 'running';
  app.on('before-quit', (event) => {
    if (state === 'done') return;
    event.preventDefault();
    if (state === 'stopping') return;
    state = 'stopping';
    void engine
      .dispose({ graceMs })
      .catch((error: unknown) => console.error('the engine did not shut down cleanly:', error))
      .finally(() => {
        state = 'done';
        app.quit();
      });
  });
  let signals = 0;
  const onSignal = () => {
    // A second signal while the engine saves: leave at once.
    if (++signals > 1) app.exit(130);
    else app.quit();
  };
  proc.on('SIGINT', onSignal);
  proc.on('SIGTERM', onSignal);
}
