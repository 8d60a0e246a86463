import { ModelProto } from '../../export/onnx/proto';
import { ModelImportError } from '../errors';

/**
 * An ONNX file decoded into plain, checked structures (the importer never walks raw protobuf objects):
 * nodes with their attributes, initializers as numbers, graph inputs and outputs with their dims.
 */

export type OnnxAttr =
  | { kind: 'int'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'float'; value: number }
  | { kind: 'floats'; value: number[] }
  | { kind: 'string'; value: string }
  | { kind: 'strings'; value: string[] }
  | { kind: 'tensor'; value: OnnxTensor }
  | { kind: 'other' };

export interface OnnxNode {
  /** Index in the graph's node list (0-based). */
  index: number;
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, OnnxAttr>;
}

/** A constant tensor (initializer or Constant node), values widened to float64 numbers. */
export interface OnnxTensor {
  name: string;
  dims: number[];
  /** 'float' for FLOAT / DOUBLE / FLOAT16, 'int' for the integer types, 'other' for the rest. */
  type: 'float' | 'int' | 'bool' | 'other';
  dataType: number;
  /** Lazily decoded values (throws ModelImportError when the data does not fit the dims). */
  values(): Float64Array;
  /** Number of elements. */
  size: number;
}

export interface OnnxValueInfo {
  name: string;
  elemType: number;
  /** One entry per axis: a fixed size, or a symbolic name / null when the file leaves it open. */
  dims: (number | string | null)[] | null;
}

export interface OnnxModel {
  irVersion: number;
  opset: number;
  producerName: string;
  producerVersion: string;
  metadata: Map<string, string>;
  graphName: string;
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export const ONNX_TYPES: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool', 10: 'float16', 11: 'double', 12: 'uint32', 13: 'uint64', 16: 'bfloat16',
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const bytes = (v: unknown): Uint8Array | null => (v instanceof Uint8Array ? v : null);

/** IEEE half -> number. */
function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

function tensorOf(t: Record<string, unknown>, fallbackName: string): OnnxTensor {
  const name = str(t.name) || fallbackName;
  const dims = arr(t.dims).map(num);
  if (dims.some((d) => d < 0 || !Number.isInteger(d))) throw new ModelImportError(`tensor '${name}' has invalid dims [${dims.join(', ')}]`);
  const size = dims.reduce((a, b) => a * b, 1);
  if (size > 2 ** 31) throw new ModelImportError(`tensor '${name}' is too large (${size} elements)`);
  const dataType = num(t.dataType);
  if (num(t.dataLocation) === 1 || arr(t.externalData).length) {
    throw new ModelImportError(`tensor '${name}' keeps its data in an external file (ONNX external data is not supported: save the model with its weights inside the .onnx file)`);
  }
  const type: OnnxTensor['type'] = [1, 10, 11, 16].includes(dataType) ? 'float' : [2, 3, 4, 5, 6, 7, 12, 13].includes(dataType) ? 'int' : dataType === 9 ? 'bool' : 'other';
  let cached: Float64Array | null = null;
  const values = (): Float64Array => {
    if (cached) return cached;
    let out: Float64Array;
    const raw = bytes(t.rawData);
    const bad = (have: number) => new ModelImportError(`tensor '${name}' holds ${have} values for dims [${dims.join(', ')}] (${size})`);
    if (raw && raw.byteLength > 0) {
      const width: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2 };
      const w = width[dataType];
      if (!w) throw new ModelImportError(`tensor '${name}' has data type ${ONNX_TYPES[dataType] ?? dataType}, which the importer does not read`);
      if (raw.byteLength !== size * w) throw bad(raw.byteLength / w);
      out = new Float64Array(size);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      for (let i = 0; i < size; i++) {
        const o = i * w;
        switch (dataType) {
          case 1: out[i] = view.getFloat32(o, true); break;
          case 2: case 9: out[i] = view.getUint8(o); break;
          case 3: out[i] = view.getInt8(o); break;
          case 4: out[i] = view.getUint16(o, true); break;
          case 5: out[i] = view.getInt16(o, true); break;
          case 6: out[i] = view.getInt32(o, true); break;
          case 7: out[i] = Number(view.getBigInt64(o, true)); break;
          case 10: out[i] = half(view.getUint16(o, true)); break;
          case 11: out[i] = view.getFloat64(o, true); break;
          case 12: out[i] = view.getUint32(o, true); break;
          case 13: out[i] = Number(view.getBigUint64(o, true)); break;
          case 16: out[i] = new Float32Array(new Uint32Array([view.getUint16(o, true) << 16]).buffer)[0]!; break;
        }
      }
    } else {
      const list = dataType === 1 ? arr(t.floatData) : dataType === 11 ? arr(t.doubleData) : dataType === 7 ? arr(t.int64Data) : arr(t.int32Data);
      if (list.length !== size) throw bad(list.length);
      out = new Float64Array(size);
      for (let i = 0; i < size; i++) out[i] = dataType === 10 ? half(num(list[i])) : Number(list[i]);
    }
    cached = out;
    return out;
  };
  return { name, dims, type, dataType, values, size };
}

function attrOf(a: Record<string, unknown>): OnnxAttr {
  const dec = (b: unknown) => new TextDecoder().decode(bytes(b) ?? new Uint8Array());
  switch (num(a.type)) {
    case 1: return { kind: 'float', value: num(a.f) };
    case 2: return { kind: 'int', value: num(a.i) };
    case 3: return { kind: 'string', value: dec(a.s) };
    case 4: return isRecord(a.t) ? { kind: 'tensor', value: tensorOf(a.t, str(a.name)) } : { kind: 'other' };
    case 6: return { kind: 'floats', value: arr(a.floats).map(num) };
    case 7: return { kind: 'ints', value: arr(a.ints).map(num) };
    case 8: return { kind: 'strings', value: arr(a.strings).map(dec) };
    default: return { kind: 'other' };
  }
}

function valueInfo(v: unknown): OnnxValueInfo {
  const o = isRecord(v) ? v : {};
  const tt = isRecord(o.type) && isRecord(o.type.tensorType) ? o.type.tensorType : null;
  const shape = tt && isRecord(tt.shape) ? tt.shape : null;
  const dims = shape
    ? arr(shape.dim).map((d) => {
        const r = isRecord(d) ? d : {};
        if (typeof r.dimValue === 'number' && r.dimValue > 0) return r.dimValue;
        if (typeof r.dimParam === 'string' && r.dimParam) return r.dimParam;
        return null;
      })
    : null;
  return { name: str(o.name), elemType: tt ? num(tt.elemType) : 0, dims };
}

/** Decodes and checks an .onnx file's bytes; anything malformed is a ModelImportError. */
export function decodeOnnx(data: Uint8Array, file = 'the file'): OnnxModel {
  let obj: Record<string, unknown>;
  try {
    const msg = ModelProto.decode(data);
    obj = ModelProto.toObject(msg, { longs: Number, defaults: false }) as Record<string, unknown>;
  } catch (error) {
    throw new ModelImportError(`${file} is not an ONNX model (protobuf decoding failed: ${error instanceof Error ? error.message : String(error)})`);
  }
  const graph = obj.graph;
  if (!isRecord(graph)) throw new ModelImportError(`${file} is not an ONNX model (it has no graph)`);
  const opsets = arr(obj.opsetImport).filter(isRecord);
  const main = opsets.find((o) => !str(o.domain) || str(o.domain) === 'ai.onnx');
  const opset = main ? num(main.version) : 0;
  const initializers = new Map<string, OnnxTensor>();
  arr(graph.initializer).forEach((t, i) => {
    if (!isRecord(t)) return;
    const tensor = tensorOf(t, `initializer_${i}`);
    initializers.set(tensor.name, tensor);
  });
  const nodes: OnnxNode[] = arr(graph.node).map((n, index) => {
    const r = isRecord(n) ? n : {};
    const attrs = new Map<string, OnnxAttr>();
    for (const a of arr(r.attribute)) if (isRecord(a)) attrs.set(str(a.name), attrOf(a));
    return {
      index,
      name: str(r.name),
      opType: str(r.opType),
      domain: str(r.domain),
      inputs: arr(r.input).map(str),
      outputs: arr(r.output).map(str),
      attrs,
    };
  });
  const metadata = new Map<string, string>();
  for (const m of arr(obj.metadataProps)) if (isRecord(m)) metadata.set(str(m.key), str(m.value));
  return {
    irVersion: num(obj.irVersion),
    opset,
    producerName: str(obj.producerName),
    producerVersion: str(obj.producerVersion),
    metadata,
    graphName: str(graph.name),
    nodes,
    initializers,
    // Older files (IR < 4) list every initializer among the inputs too: those are weights, not inputs.
    inputs: arr(graph.input).map(valueInfo).filter((v) => !initializers.has(v.name)),
    outputs: arr(graph.output).map(valueInfo),
  };
}

/** The ONNX magic is protobuf's: field 1 (ir_version, varint) first, usually. A cheap sniff for detect(). */
export function looksLikeOnnx(head: Uint8Array): boolean {
  return head.length > 2 && head[0] === 0x08 && head[1]! > 0 && head[1]! < 20;
}

/** A serialized TensorProto (the .pb files beside ONNX test models). */
export function decodeTensorProto(data: Uint8Array): OnnxTensor {
  const type = ModelProto.root.lookupType('onnx.TensorProto');
  let obj: Record<string, unknown>;
  try {
    obj = type.toObject(type.decode(data), { longs: Number, defaults: false }) as Record<string, unknown>;
  } catch (error) {
    throw new ModelImportError(`not an ONNX TensorProto (${error instanceof Error ? error.message : String(error)})`);
  }
  return tensorOf(obj, 'tensor');
}
