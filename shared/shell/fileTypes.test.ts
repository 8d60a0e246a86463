import { describe, expect, it } from 'vitest';
import { classifyPath, extensionOf, FILE_ASSOCIATIONS, PROJECT_EXTENSION } from './fileTypes';

const file = (head?: string) => ({ exists: true, isDirectory: false, ...(head !== undefined ? { head } : {}) });
const dir = (entries: string[]) => ({ exists: true, isDirectory: true, entries });

describe('what opening a file means', () => {
  it('projects, models, tables, image data', () => {
    expect(classifyPath('/p/net.layerforge', file()).kind).toBe('project');
    expect(classifyPath('/p/NET.LAYERFORGE', file()).kind).toBe('project');
    expect(classifyPath('/p/net.json', file('{"format":"layerforge-project","version":1')).kind).toBe('project');
    expect(classifyPath('/p/model.json', file()).kind).toBe('model');
    expect(classifyPath('/p/cnn.json', file('{"format":"layers-model","modelTopology":{')).kind).toBe('model');
    expect(classifyPath('/p/export', dir(['model.json', 'group1-shard1of1.bin'])).kind).toBe('model');
    expect(classifyPath('/p/run-3', dir(['project.json', 'model.json'])).kind).toBe('model');
    expect(classifyPath('/p/houses.csv', file()).kind).toBe('table');
    expect(classifyPath('C:\\data\\houses.TSV', file()).kind).toBe('table');
    expect(classifyPath('/p/flowers', dir(['roses', 'tulips'])).kind).toBe('images');
    expect(classifyPath('/p/cifar-10-binary.tar.gz', file()).kind).toBe('images');
  });

  it('formats without an importer yet say what to do instead; missing files say so', () => {
    expect(classifyPath('/p/m.h5', file())).toMatchObject({ kind: 'unsupported', reason: expect.stringMatching(/m\.h5: .*tensorflowjs_converter/) });
    expect(classifyPath('/p/m.onnx', file()).reason).toMatch(/ONNX models cannot be imported yet/);
    expect(classifyPath('/p/m.keras', file()).reason).toMatch(/\.keras/);
    expect(classifyPath('/p/cat.png', file()).reason).toMatch(/single image, not a dataset/);
    expect(classifyPath('/p/readme', file()).reason).toMatch(/readme is not something Layerforge opens/);
    expect(classifyPath('/p/gone.layerforge', { exists: false, isDirectory: false })).toMatchObject({ kind: 'unsupported', reason: '/p/gone.layerforge does not exist (was it moved or deleted?).' });
  });

  it('extensions', () => {
    expect(extensionOf('/a/b.tar.gz')).toBe('tar.gz');
    expect(extensionOf('/a/.hidden')).toBe('');
    expect(extensionOf('/a/b.JSON')).toBe('json');
  });

  it('the packager associates .layerforge only (never .json)', () => {
    expect(FILE_ASSOCIATIONS.map((a) => a.ext)).toEqual([PROJECT_EXTENSION]);
    expect(FILE_ASSOCIATIONS[0]).toMatchObject({ name: 'Layerforge project', role: 'Editor', mimeType: 'application/x-layerforge' });
  });

  it('the installers register the same associations as the app opens (electron-builder.config.ts)', async () => {
    const config = '../../electron-builder.config.ts';
    const packaged = ((await import(/* @vite-ignore */ config)) as { FILE_ASSOCIATIONS: unknown }).FILE_ASSOCIATIONS;
    expect(packaged).toEqual(FILE_ASSOCIATIONS);
  });
});
