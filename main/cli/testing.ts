/** Test helper: a CliIO that records what a command prints (`x` goes to main(), `out`/`err` collect the lines). */
import type { CliIO } from './command';

export function io(): { x: CliIO; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const x: CliIO = { out: (t) => void out.push(t), err: (t) => void err.push(t), isTTY: false };
  return { x, out, err };
}
