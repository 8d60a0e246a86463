/**
 * Asks the engine again and again while a run trains, politely: at most one request in flight, the next one
 * `intervalMs` after the previous answer (not after the previous start: a slow answer never piles requests
 * up), and only while the view is visible. `request()` asks now (or right after the request in flight) for
 * a changed question (another node, another sample).
 */
export interface PollerOptions {
  /** The request; its result is ignored by the poller (the caller keeps what it needs). */
  run: () => Promise<unknown>;
  intervalMs: number;
  /** Whether to keep asking (the run is still training). */
  live: () => boolean;
  /** Whether anyone sees the answer now (document visible, the panel shown). */
  visible: () => boolean;
  setTimer?: (f: () => void, ms: number) => unknown;
  clearTimer?: (t: unknown) => void;
}

export class Poller {
  private inFlight = false;
  private again = false;
  private timer: unknown = null;
  private stopped = false;
  private readonly setTimer: (f: () => void, ms: number) => unknown;
  private readonly clearTimer: (t: unknown) => void;

  constructor(private readonly o: PollerOptions) {
    this.setTimer = o.setTimer ?? ((f, ms) => setTimeout(f, ms));
    this.clearTimer = o.clearTimer ?? ((t) => clearTimeout(t as ReturnType<typeof setTimeout>));
  }

  /** Ask now: at once when nothing is in flight, else right after the answer in flight arrives. */
  request(): void {
    if (this.stopped) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.cancelTimer();
    void this.fire();
  }

  /** A visibility change: asks at once when it became visible and the run is live and nothing is waiting. */
  wake(): void {
    if (this.stopped || this.inFlight || this.timer !== null) return;
    if (this.o.live() && this.o.visible()) void this.fire();
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer();
  }

  get busy(): boolean {
    return this.inFlight;
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
  }

  private async fire(): Promise<void> {
    this.inFlight = true;
    this.again = false;
    try {
      await this.o.run();
    } catch {
      /* the caller shows its own errors */
    } finally {
      this.inFlight = false;
    }
    if (this.stopped) return;
    if (this.again) {
      void this.fire();
      return;
    }
    this.schedule();
  }

  private schedule(): void {
    this.cancelTimer();
    if (!this.o.live()) return;
    this.timer = this.setTimer(() => {
      this.timer = null;
      if (this.stopped) return;
      // Hidden: wait for wake() instead of asking for nobody.
      if (this.o.live() && this.o.visible()) void this.fire();
    }, this.o.intervalMs);
  }
}
