/** View preferences and transient UI state: theme, overlays, notices. Never part of a project. */
import { createStore } from 'zustand/vanilla';
import { useStore } from 'zustand';

export type ThemePref = 'system' | 'light' | 'dark';
export interface Notice {
  id: number;
  kind: 'info' | 'error';
  text: string;
}

export type Dialog =
  | { kind: 'saveAs'; initial: string }
  /** The Open dialog: projects in the projects folder and recent ones. */
  | { kind: 'open' }
  /** "You have unsaved changes": run `proceed` if the user agrees to discard them. */
  | { kind: 'discard'; what: string; proceed: () => void }
  /** The table (CSV) import for a file opened from the OS (desktop app: dropped, command line). */
  | { kind: 'importTable'; path: string }
  /** Edit > Find Layer: a node of the graph by name or type. */
  | { kind: 'findLayer' };

export interface UiState {
  dialog: Dialog | null;
  themePref: ThemePref;
  systemDark: boolean;
  helpOpen: boolean;
  snapToGrid: boolean;
  rightTab: 'inspect' | 'train';
  /** The editor's side panels (View menu): the layer palette and the inspector / training panel. */
  paletteOpen: boolean;
  inspectorOpen: boolean;
  /** Bumped by the Import Dataset action: the training panel opens its "Import from disk…" form. */
  datasetImportRequest: number;
  notice: Notice | null;
  /**
   * Edits being laid out again and their view fitted (collapse / expand, auto-layout: actions/relayout.ts).
   * The canvas shows it as data-layout="busy": nodes are still moving, a click now may land elsewhere.
   */
  layoutsRunning: number;
  setThemePref(pref: ThemePref): void;
  notify(kind: Notice['kind'], text: string): void;
  dismissNotice(): void;
}

const THEME_KEY = 'layerforge.theme';

function storedTheme(): ThemePref {
  try {
    const v = globalThis.localStorage?.getItem(THEME_KEY);
    return v === 'light' || v === 'dark' ? v : 'system';
  } catch {
    return 'system';
  }
}

let noticeId = 0;

export const uiStore = createStore<UiState>()((set) => ({
  dialog: null,
  themePref: storedTheme(),
  systemDark: typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)').matches : false,
  helpOpen: false,
  snapToGrid: true,
  rightTab: 'inspect',
  paletteOpen: true,
  inspectorOpen: true,
  datasetImportRequest: 0,
  notice: null,
  layoutsRunning: 0,
  setThemePref(pref) {
    try {
      if (pref === 'system') globalThis.localStorage?.removeItem(THEME_KEY);
      else globalThis.localStorage?.setItem(THEME_KEY, pref);
    } catch {
      /* storage unavailable: the choice lasts for this session */
    }
    set({ themePref: pref });
  },
  notify(kind, text) {
    noticeId += 1;
    set({ notice: { id: noticeId, kind, text } });
  },
  dismissNotice() {
    set({ notice: null });
  },
}));

export function useUi<T>(selector: (s: UiState) => T): T {
  return useStore(uiStore, selector);
}

export function resolvedTheme(s: Pick<UiState, 'themePref' | 'systemDark'>): 'light' | 'dark' {
  return s.themePref === 'system' ? (s.systemDark ? 'dark' : 'light') : s.themePref;
}
