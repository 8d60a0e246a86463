/**
 * The open document as the window shows it: its title ("● net.json — Layerforge" while unsaved) in the
 * browser tab (serve mode) and the desktop window alike, from one function.
 */

export const APP_NAME = 'Layerforge';

export interface DocumentInfo {
  /** 'start': the start screen, no document open. */
  screen: 'start' | 'editor';
  /** The project's own name (meta.name). */
  name: string;
  /** Where it is saved (absolute path on the engine's machine, or a bare file name); null before the first save. */
  path: string | null;
  dirty: boolean;
}

/** The last part of a path. */
export function fileBaseName(path: string): string {
  return path.split(/[\\/]/).pop() || path;
}

/** The window title: the file's name (the project's before the first save), the unsaved mark, the app. */
export function documentTitle(doc: DocumentInfo): string {
  if (doc.screen !== 'editor') return APP_NAME;
  const shown = doc.path ? fileBaseName(doc.path) : doc.name.trim() || 'Untitled';
  return `${doc.dirty ? '● ' : ''}${shown} — ${APP_NAME}`;
}
