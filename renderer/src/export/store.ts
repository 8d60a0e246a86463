/** Which export/import dialog is open. Transient UI state, never part of a project. */
import { createStore } from 'zustand/vanilla';
import { useStore } from 'zustand';

export type ExportDialogKind = 'image' | 'model' | 'import';

export interface ExportUiState {
  open: ExportDialogKind | null;
}

export const exportUi = createStore<ExportUiState>()(() => ({ open: null }));

export function useExportUi<T>(selector: (s: ExportUiState) => T): T {
  return useStore(exportUi, selector);
}

export function openExportDialog(kind: ExportDialogKind): void {
  exportUi.setState({ open: kind });
}

export function closeExportDialog(): void {
  exportUi.setState({ open: null });
}
