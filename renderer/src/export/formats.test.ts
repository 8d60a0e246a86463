import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../../../shared/api';
import { fileSlug } from '../../../shared/fileSlug';
import {
  exportableRuns,
  isAbsolutePath,
  joinPath,
  MODEL_FORMATS,
  resolveOutPath,
  separatorOf,
  suggestedOutPath,
  validateExportForm,
  validateImportPath,
} from './formats';

function run(id: string, over: Partial<RunSummary> = {}): RunSummary {
  return { id, name: `Run ${id}`, datasetId: 'cifar10', status: 'completed', createdAt: `2025-01-0${id}T10:00:00Z`, epochs: 2, epochsDone: 2, hasModel: true, ...over };
}

describe('export formats', () => {
  it('lists the four engine formats, each with its input layout', () => {
    expect(MODEL_FORMATS.map((f) => f.id)).toEqual(['tfjs', 'onnx', 'pytorch', 'keras']);
    expect(MODEL_FORMATS.find((f) => f.id === 'pytorch')!.line).toContain('NCHW');
    for (const id of ['tfjs', 'onnx', 'keras']) expect(MODEL_FORMATS.find((f) => f.id === id)!.line).toContain('NHWC');
  });

  it('suggests <data>/exports/<run>-<format>, a .onnx file for ONNX, with the engine machine’s separator', () => {
    const r = run('1', { name: 'Run 3 (Adam, lr=0.001)' });
    expect(suggestedOutPath('/home/u/.layerforge', r, 'tfjs')).toBe('/home/u/.layerforge/exports/run-3-adam-lr-0-001-tfjs');
    expect(suggestedOutPath('/home/u/.layerforge/', r, 'onnx')).toBe('/home/u/.layerforge/exports/run-3-adam-lr-0-001-onnx.onnx');
    expect(suggestedOutPath('C:\\Users\\u\\Layerforge', r, 'pytorch')).toBe('C:\\Users\\u\\Layerforge\\exports\\run-3-adam-lr-0-001-pytorch');
    expect(suggestedOutPath('/', run('2', { name: '' }), 'keras')).toBe('/exports/2-keras');
  });

  it('puts model.onnx inside a folder given for ONNX; leaves folders for the others and .onnx paths alone', () => {
    expect(resolveOutPath('onnx', ' /tmp/out ')).toBe('/tmp/out/model.onnx');
    expect(resolveOutPath('onnx', '/tmp/out/')).toBe('/tmp/out/model.onnx');
    expect(resolveOutPath('onnx', '/tmp/net.ONNX')).toBe('/tmp/net.ONNX');
    expect(resolveOutPath('onnx', 'D:\\exp')).toBe('D:\\exp\\model.onnx');
    expect(resolveOutPath('tfjs', '/tmp/out')).toBe('/tmp/out');
    expect(resolveOutPath('pytorch', '/tmp/out.onnx')).toBe('/tmp/out.onnx');
  });

  it('knows paths and separators', () => {
    expect(separatorOf('/a/b')).toBe('/');
    expect(separatorOf('C:\\a')).toBe('\\');
    expect(separatorOf('\\\\server\\share')).toBe('\\');
    expect(joinPath('/', '/', 'a', 'b/')).toBe('/a/b');
    expect(isAbsolutePath('/x')).toBe(true);
    expect(isAbsolutePath('C:/x')).toBe(true);
    expect(isAbsolutePath('x/y')).toBe(false);
    expect(isAbsolutePath('~/x')).toBe(false);
    expect(fileSlug('  ÉTÉ run!! ', 'model')).toBe('ete-run');
  });

  it('offers finished runs with a model, newest first', () => {
    const runs = [
      run('1'),
      run('2', { status: 'running', hasModel: false }),
      run('3', { status: 'stopped' }),
      run('4', { status: 'failed', hasModel: false }),
      run('5', { status: 'completed', hasModel: false }),
    ];
    expect(exportableRuns(runs).map((r) => r.id)).toEqual(['3', '1']);
  });

  it('validates the form before sending anything', () => {
    const runs = [run('1'), run('2', { status: 'running', hasModel: false })];
    expect(validateExportForm({ runId: '1', outPath: '/tmp/x' }, runs)).toEqual({});
    expect(validateExportForm({ runId: null, outPath: '/tmp/x' }, runs).run).toMatch(/Choose a trained run/);
    expect(validateExportForm({ runId: '2', outPath: '/tmp/x' }, runs).run).toMatch(/no trained model.*running/);
    expect(validateExportForm({ runId: '1', outPath: '  ' }, runs).outPath).toMatch(/output folder/);
    expect(validateExportForm({ runId: '1', outPath: 'exports/x' }, runs).outPath).toMatch(/absolute path/);
    expect(validateImportPath('')).toMatch(/model\.json/);
    expect(validateImportPath('model.json')).toMatch(/absolute/);
    expect(validateImportPath('/m/model.json')).toBeNull();
  });
});
