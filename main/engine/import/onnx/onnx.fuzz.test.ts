/**
 * Fuzz: ONNX import on truncated and mutated .onnx bytes and on structurally mutated models (fields dropped,
 * replaced by values of other types, re-encoded). Each input becomes a valid project or a ModelImportError;
 * never a TypeError from deep inside, never a hang.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { applyMutations, byteMutation, FuzzTally, mutateBytes, mutationPlans } from '../../../../scripts/security/fuzz';
import { parseProject } from '../../../../shared/project';
import { ModelProto } from '../../export/onnx/proto';
import { ModelImportError } from '../errors';
import { importOnnxBytes } from '.';

const tally = new FuzzTally('ONNX imports');
afterAll(() => tally.report());

const CORPUS = 'main/engine/import/corpus/onnx';
const seeds = ['mlp.onnx', 'cnn_bn.onnx', 'lstm_last.onnx', 'decoder.onnx'].map((f) => new Uint8Array(readFileSync(join(CORPUS, f))));
let slowest = 0;

function outcome(bytes: Uint8Array, what: string): 'ok' | 'refused' {
  const t0 = performance.now();
  try {
    parseProject(importOnnxBytes(bytes).result.project, 'imported project');
    return 'ok';
  } catch (error) {
    if (error instanceof ModelImportError) return 'refused';
    const e = error as Error;
    throw new Error(`${what}: expected ModelImportError, got ${e?.name}: ${e?.message}\n${e?.stack?.split('\n').slice(1, 4).join('\n')}`);
  } finally {
    slowest = Math.max(slowest, performance.now() - t0);
  }
}

describe('ONNX import under fuzzing', () => {
  it('the seeds import as they are', () => {
    for (const s of seeds) expect(outcome(s, 'seed')).toBe('ok');
  });

  it('truncated files give ModelImportError', () => {
    const counts = { ok: 0, refused: 0 };
    for (const s of seeds) for (let n = 0; n < s.length; n += Math.max(1, Math.floor(s.length / 60))) counts[outcome(s.subarray(0, n), `truncated at ${n}`)]++;
    tally.add('truncated .onnx', counts.ok + counts.refused);
    expect(counts.refused).toBeGreaterThan(0);
  });

  it('byte-mutated files: a valid project or a ModelImportError', () => {
    const counts = { ok: 0, refused: 0 };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: seeds.length - 1 }), fc.array(byteMutation, { minLength: 1, maxLength: 4 }), (k, muts) => {
        tally.add('byte-mutated .onnx');
        counts[outcome(mutateBytes(seeds[k]!, muts), 'byte-mutated')]++;
      }),
      { numRuns: 150 },
    );
    console.log(`[fuzz] onnx: of 300 byte-mutated files, ${counts.ok} imported, ${counts.refused} refused`);
  });

  it('structurally mutated models (fields of the wrong type or missing), re-encoded', () => {
    const objects = seeds.map((s) => ModelProto.toObject(ModelProto.decode(s), { longs: Number }) as unknown);
    const counts = { ok: 0, refused: 0, unencodable: 0 };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: seeds.length - 1 }), mutationPlans(3), (k, plans) => {
        let bytes: Uint8Array;
        try {
          bytes = ModelProto.encode(ModelProto.fromObject(applyMutations(objects[k], plans) as Record<string, unknown>)).finish();
        } catch {
          counts.unencodable++; // protobufjs itself refuses to encode it: not a file anyone could have
          return;
        }
        tally.add('mutated ONNX model');
        counts[outcome(bytes, 'mutated model')]++;
      }),
      { numRuns: 300 },
    );
    console.log(`[fuzz] onnx: of 150 mutated models, ${counts.ok} imported, ${counts.refused} refused, ${counts.unencodable} not encodable`);
  });

  it('hand-made malformed fields give ModelImportError', () => {
    const base = () => ModelProto.decode(seeds[0]!) as unknown as {
      graph: { node: { attribute: { type: number; i?: number; ints?: number[] }[]; input: string[] }[]; initializer: { dims: number[]; rawData: Uint8Array; dataType: number }[]; input: { type?: unknown }[] };
    };
    const cases: ((m: ReturnType<typeof base>) => void)[] = [
      (m) => (m.graph.initializer[0]!.rawData = m.graph.initializer[0]!.rawData.subarray(3)), // data shorter than its dims
      (m) => (m.graph.initializer[0]!.dims = [1e6, 1e6]), // a huge tensor
      (m) => (m.graph.initializer[0]!.dataType = 8), // strings
      (m) => (m.graph.node[0]!.input = ['nowhere']), // an input nobody produces
      (m) => (m.graph.node[0]!.input = []), // no inputs
      (m) => (m.graph.input[0]!.type = undefined), // an input without a type
      (m) => m.graph.node.reverse(), // not in topological order
      (m) => (m.graph.node[0]!.attribute = [{ type: 7, ints: [] }]), // Gemm with an empty attribute
    ];
    for (const [i, mutate] of cases.entries()) {
      const m = base();
      mutate(m);
      const bytes = ModelProto.encode(m as never).finish();
      expect(outcome(bytes, `case ${i}`), `case ${i}`).toBe('refused');
    }
  });

  it('never hangs: the slowest import took under 2 s', () => {
    console.log(`[fuzz] onnx: slowest import ${slowest.toFixed(0)} ms`);
    expect(slowest).toBeLessThan(2000);
  });
});
