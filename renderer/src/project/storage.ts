/** Recent projects and the autosave recovery slot, kept in localStorage. */
export interface RecentProject {
  fileName: string;
  name: string;
  savedAt: number;
  /** The project text when small enough to keep, so the browser build can reopen it. */
  text?: string;
}

export interface Recovery {
  savedAt: number;
  fileName: string | null;
  name: string;
  text: string;
}

const RECENT_KEY = 'layerforge.recent';
const RECOVERY_KEY = 'layerforge.recovery';
const MAX_RECENT = 8;
const MAX_TEXT = 1_000_000;

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

export function recentProjects(): RecentProject[] {
  const list = readJson<RecentProject[]>(RECENT_KEY);
  return Array.isArray(list) ? list.filter((r) => r && typeof r.fileName === 'string' && typeof r.name === 'string') : [];
}

export function addRecent(entry: RecentProject): void {
  const rest = recentProjects().filter((r) => r.fileName !== entry.fileName);
  const kept = entry.text && entry.text.length > MAX_TEXT ? { ...entry, text: undefined } : entry;
  write(RECENT_KEY, [kept, ...rest].slice(0, MAX_RECENT));
}

export function removeRecent(fileName: string): void {
  write(RECENT_KEY, recentProjects().filter((r) => r.fileName !== fileName));
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
