/**
 * The autosave recovery slot, kept in localStorage (the browser's, or Electron's own profile on disk).
 * Recent projects come from the engine (listProjects), not from here.
 */
export interface Recovery {
  savedAt: number;
  fileName: string | null;
  name: string;
  text: string;
}

const RECOVERY_KEY = 'layerforge.recovery';

function storage(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

function readJson<T>(key: string): T | null {
  try {
    const text = storage()?.getItem(key);
    return text ? (JSON.parse(text) as T) : null;
  } catch {
    return null;
  }
}

function write(key: string, value: unknown): void {
  try {
    storage()?.setItem(key, JSON.stringify(value));
  } catch {
    /* storage full or unavailable: recent list and recovery are best effort */
  }
}

export function readRecovery(): Recovery | null {
  const r = readJson<Recovery>(RECOVERY_KEY);
  return r && typeof r.text === 'string' && typeof r.savedAt === 'number' ? r : null;
}

export function writeRecovery(r: Recovery): void {
  write(RECOVERY_KEY, r);
}

export function clearRecovery(): void {
  try {
    storage()?.removeItem(RECOVERY_KEY);
  } catch {
    /* nothing to clear */
  }
}
