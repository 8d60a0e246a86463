/** Types of scripts/start.mjs (`npm start`), for its tests. */
export const DEFAULT_DOWNLOAD_TIMEOUT_S: number;
export const RETRY_COMMAND: string;
export type ElectronLookup = { path: string } | { path: null; reason: string; installable: boolean };
export function findElectronBinary(env?: NodeJS.ProcessEnv, pkgDir?: string | null): ElectronLookup;
export function displayProblem(env?: NodeJS.ProcessEnv, platform?: NodeJS.Platform): string | null;
export function downloadTimeoutMs(env?: NodeJS.ProcessEnv): number;
export function buildIsFresh(dir?: string): { fresh: boolean; reason: string };
export function downloadElectron(options?: {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  stream?: { write(text: string): unknown; isTTY?: boolean };
  pkgDir?: string | null;
}): Promise<{ ok: true } | { ok: false; reason: string }>;
export function runChild(cmd: string, args: string[], options?: { env?: NodeJS.ProcessEnv }): Promise<number>;
