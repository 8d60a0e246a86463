/**
 * Autosave of unsaved work, so a crash, a killed app or a closed tab loses nothing. Each window writes
 * its own slot (`tab-<random>`) to the engine, which keeps it atomically under `<data dir>/recovery`
 * (it survives the app being killed), and to localStorage as a fallback for when the engine cannot be
 * reached. The start screen offers what it finds; a save, a restore or a discard clears the slot.
 */
import type { RecoveryItem } from '../../../shared/api';
import type { ActionContext } from '../actions/register';
import { isEnginePath } from './io';
import { clearRecovery as clearLocal, readRecovery as readLocal, writeRecovery as writeLocal } from './storage';

function randomKey(): string {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  return `tab-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** This window's autosave slot. */
export const TAB_KEY = randomKey();

/** Unsaved work found at start: from the engine (with its key) or from this browser's storage. */
export interface FoundRecovery {
  key?: string;
  savedAt: number;
  fileName: string | null;
  name: string;
  text: string;
}

/** Read once at start-up, before this window's autosave can overwrite the browser's slot. */
let localAtStart = readLocal();

export function autosave(ctx: ActionContext, work: { fileName: string | null; name: string; text: string }): void {
  writeLocal({ savedAt: Date.now(), fileName: work.fileName, name: work.name, text: work.text });
  void ctx.io
    .files()
    .saveRecovery({ key: TAB_KEY, text: work.text, sourcePath: isEnginePath(work.fileName) ? work.fileName : null })
    .catch(() => {
      /* the engine is unreachable: the browser's copy stands in */
    });
}

/** Clears this window's autosave (after a save, or when the work is no longer unsaved). */
export function clearAutosave(ctx: ActionContext): void {
  clearLocal();
  void ctx.io
    .files()
    .discardRecovery({ key: TAB_KEY })
    .catch(() => {});
}

const fromItem = (i: RecoveryItem): FoundRecovery => ({ key: i.key, savedAt: Date.parse(i.savedAt), fileName: i.sourcePath, name: i.name, text: i.text });

/** Unsaved work left by earlier sessions, newest first. */
export async function findRecovery(ctx: ActionContext): Promise<FoundRecovery[]> {
  let found: FoundRecovery[] = [];
  try {
    found = (await ctx.io.files().listRecovery()).items.filter((i) => i.key !== TAB_KEY).map(fromItem);
  } catch {
    // engine unreachable: only the browser's copy
  }
  const local = localAtStart;
  if (local && !found.some((f) => f.text === local.text)) found.push({ ...local });
  return found.sort((a, b) => b.savedAt - a.savedAt);
}

/** Forgets a found autosave. */
export async function discardFound(ctx: ActionContext, r: FoundRecovery): Promise<void> {
  if (r.key) await ctx.io.files().discardRecovery({ key: r.key }).catch(() => {});
  if (localAtStart && r.text === localAtStart.text) {
    clearLocal();
    localAtStart = null;
  }
}

/** After a restore, the work lives on in this window's slot; the old one is removed. */
export async function adoptFound(ctx: ActionContext, r: FoundRecovery): Promise<void> {
  if (localAtStart && r.text === localAtStart.text) localAtStart = null;
  try {
    await ctx.io.files().saveRecovery({ key: TAB_KEY, text: r.text, sourcePath: isEnginePath(r.fileName) ? r.fileName : null });
    if (r.key) await ctx.io.files().discardRecovery({ key: r.key });
  } catch {
    // keep the old slot: nothing is lost
  }
}
