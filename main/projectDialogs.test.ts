import { describe, expect, it } from 'vitest';
import type { BrowserWindow, Dialog } from 'electron';
import { confirmUnsavedClose, electronProjectDialogs, withProjectExtension } from './projectDialogs';

type D = Pick<Dialog, 'showSaveDialog' | 'showOpenDialog'>;

function fakeDialog(save: { canceled: boolean; filePath?: string }, open: { canceled: boolean; filePaths: string[] }) {
  const calls: { kind: string; withWindow: boolean; options: Record<string, unknown> }[] = [];
  const record = (kind: string, a: unknown, b: unknown) => {
    const withWindow = b !== undefined;
    calls.push({ kind, withWindow, options: (withWindow ? b : a) as Record<string, unknown> });
  };
  const dialog = {
    showSaveDialog: async (a: unknown, b?: unknown) => {
      record('save', a, b);
      return { canceled: save.canceled, filePath: save.filePath ?? '' };
    },
    showOpenDialog: async (a: unknown, b?: unknown) => {
      record('open', a, b);
      return { canceled: open.canceled, filePaths: open.filePaths };
    },
  } as unknown as D;
  return { dialog, calls };
}

describe('electronProjectDialogs', () => {
  const win = {} as BrowserWindow;

  it('asks with the window as parent, offers .layerforge, confirms overwrite, and adds .layerforge when the platform did not', async () => {
    const { dialog, calls } = fakeDialog({ canceled: false, filePath: '/home/u/net' }, { canceled: false, filePaths: ['/home/u/a.json'] });
    const d = electronProjectDialogs(dialog, () => win);
    expect(await d.chooseSavePath({ defaultPath: '/data/projects/x.json' })).toBe('/home/u/net.layerforge');
    expect(await d.chooseOpenPath({ defaultPath: '/data/projects' })).toBe('/home/u/a.json');
    expect(calls[0]).toMatchObject({ kind: 'save', withWindow: true, options: { defaultPath: '/data/projects/x.layerforge' } });
    expect((calls[0]!.options.filters as { extensions: string[] }[])[0]!.extensions).toEqual(['layerforge']);
    expect((calls[0]!.options.filters as { extensions: string[] }[])[1]!.extensions).toEqual(['json']);
    expect(calls[0]!.options.properties).toContain('showOverwriteConfirmation');
    expect(calls[1]).toMatchObject({ kind: 'open', withWindow: true });
    expect((calls[1]!.options.filters as { extensions: string[] }[])[0]!.extensions).toEqual(['layerforge', 'json']);
    expect(calls[1]!.options.properties).toEqual(['openFile']);
  });

  it('keeps a .json or .layerforge name as is and answers null when cancelled (also without a window)', async () => {
    const kept = fakeDialog({ canceled: false, filePath: '/home/u/net.json' }, { canceled: true, filePaths: [] });
    expect(await electronProjectDialogs(kept.dialog, () => null).chooseSavePath({ defaultPath: '/d' })).toBe('/home/u/net.json');
    expect(kept.calls[0]!.withWindow).toBe(false);
    expect(await electronProjectDialogs(kept.dialog, () => null).chooseOpenPath({ defaultPath: '/d' })).toBeNull();
    const cancelled = fakeDialog({ canceled: true }, { canceled: true, filePaths: [] });
    expect(await electronProjectDialogs(cancelled.dialog, () => win).chooseSavePath({ defaultPath: '/d' })).toBeNull();
    const lf = fakeDialog({ canceled: false, filePath: '/home/u/net.LAYERFORGE' }, { canceled: true, filePaths: [] });
    expect(await electronProjectDialogs(lf.dialog, () => null).chooseSavePath({ defaultPath: '/d' })).toBe('/home/u/net.LAYERFORGE');
  });

  it('the suggested name gets the .layerforge extension', () => {
    expect(withProjectExtension('/p/My-Net.json')).toBe('/p/My-Net.layerforge');
    expect(withProjectExtension('/p/net.layerforge')).toBe('/p/net.layerforge');
    expect(withProjectExtension('/p/untitled')).toBe('/p/untitled.layerforge');
  });

  it('files opened through the OS are vouched for (the engine may open them); nothing else is', () => {
    const d = electronProjectDialogs(fakeDialog({ canceled: true }, { canceled: true, filePaths: [] }).dialog, () => null);
    expect(d.isChosen!('/home/u/net.layerforge')).toBe(false);
    d.vouch('/home/u/x/../net.layerforge');
    expect(d.isChosen!('/home/u/net.layerforge')).toBe(true);
    expect(d.isChosen!('/home/u/other.layerforge')).toBe(false);
  });
});

describe('the data file dialog (CSV import in the desktop app)', () => {
  it('filters by the kind, returns the chosen path or null', async () => {
    const { dialog, calls } = fakeDialog({ canceled: true }, { canceled: false, filePaths: ['/home/u/houses.csv'] });
    const d = electronProjectDialogs(dialog, () => ({}) as BrowserWindow);
    expect(await d.chooseDataPath!({ title: 'Import a table (CSV)', extensions: ['csv', 'tsv'] })).toBe('/home/u/houses.csv');
    expect(calls[0]!.options).toMatchObject({ title: 'Import a table (CSV)', properties: ['openFile'] });
    expect((calls[0]!.options.filters as { extensions: string[] }[])[0]!.extensions).toEqual(['csv', 'tsv']);
    const none = fakeDialog({ canceled: true }, { canceled: true, filePaths: [] });
    expect(await electronProjectDialogs(none.dialog, () => null).chooseDataPath!({ title: 't', extensions: ['csv'] })).toBeNull();
  });
});

describe('confirmUnsavedClose', () => {
  it('closes only when the user chooses "Close without saving"', () => {
    for (const [choice, closes] of [
      [0, false],
      [1, true],
    ] as const) {
      let prevented = false;
      const dialog = { showMessageBoxSync: () => choice } as unknown as Pick<Dialog, 'showMessageBoxSync'>;
      expect(confirmUnsavedClose(dialog, {} as BrowserWindow, { preventDefault: () => (prevented = true) })).toBe(closes);
      expect(prevented).toBe(closes);
    }
  });
});
