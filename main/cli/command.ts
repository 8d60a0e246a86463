/** One CLI sub-command. Each lives in its own file under main/cli/commands and is listed in main/cli/index.ts. */
export interface CliIO {
  /** Standard output (results, JSON lines). */
  out(text: string): void;
  /** Standard error (progress, diagnostics). */
  err(text: string): void;
  /** True when stdout is a terminal (progress bars allowed). */
  readonly isTTY: boolean;
}

export interface CliCommand {
  /** First word(s) after `layerforge`, e.g. 'inspect' or 'datasets'. */
  readonly name: string;
  /** One line for `layerforge --help`. */
  readonly summary: string;
  /** Full usage text for `layerforge NAME --help`. */
  readonly usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(args: string[], io: CliIO): Promise<number>;
}

/** A usage error: printed with the command's usage and exit code 2. */
export class UsageError extends Error {}

/** A whole-number option (`--name N`), `min` or more; undefined when absent. A bad value is a UsageError naming the option. */
export function wholeNumberOption(name: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number >= ${min}, got '${v}'`);
  return n;
}

export const processIO: CliIO = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  isTTY: Boolean(process.stdout.isTTY),
};
