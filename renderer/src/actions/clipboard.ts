/**
 * The clipboard for graph fragments: the system clipboard as JSON text (so copy/paste works between
 * projects, tabs and windows), with an in-memory copy for when the system clipboard is unavailable.
 */
import { parseFragment, type Fragment } from '../store/document';

let memory: Fragment | null = null;

export async function writeFragment(fragment: Fragment): Promise<void> {
  memory = fragment;
  try {
    await navigator.clipboard?.writeText(JSON.stringify(fragment));
  } catch {
    /* no permission or no clipboard: the in-memory copy serves this window */
  }
}

export async function readFragment(): Promise<Fragment | null> {
  try {
    const text = await navigator.clipboard?.readText();
    const parsed = text ? parseFragment(text) : null;
    if (parsed) return parsed;
  } catch {
    /* fall back to the in-memory copy */
  }
  return memory;
}
