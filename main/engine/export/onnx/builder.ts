import { AttributeType, DataType } from './proto';

export type Attr =
  | { kind: 'int'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'float'; value: number }
  | { kind: 'floats'; value: number[] }
  | { kind: 'string'; value: string }
  | { kind: 'strings'; value: string[] };

export const A = {
  int: (value: number): Attr => ({ kind: 'int', value }),
  ints: (value: number[]): Attr => ({ kind: 'ints', value }),
  float: (value: number): Attr => ({ kind: 'float', value }),
  floats: (value: number[]): Attr => ({ kind: 'floats', value }),
  str: (value: string): Attr => ({ kind: 'string', value }),
  strs: (value: string[]): Attr => ({ kind: 'strings', value }),
};

function encodeAttr(name: string, a: Attr): Record<string, unknown> {
  const enc = (s: string) => new TextEncoder().encode(s);
  switch (a.kind) {
    case 'int':
      return { name, type: AttributeType.INT, i: a.value };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: a.value };
    case 'float':
      return { name, type: AttributeType.FLOAT, f: a.value };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: a.value };
    case 'string':
      return { name, type: AttributeType.STRING, s: enc(a.value) };
    case 'strings':
      return { name, type: 8, strings: a.value.map(enc) };
  }
}

/** Accumulates ONNX nodes and initializers with unique names. */
export class OnnxBuilder {
  readonly nodes: Record<string, unknown>[] = [];
  readonly initializers: Record<string, unknown>[] = [];
  private readonly used = new Set<string>();

  /** A fresh tensor/node name based on a hint. */
  fresh(hint: string): string {
    let name = hint;
    for (let i = 1; this.used.has(name); i++) name = `${hint}_${i}`;
    this.used.add(name);
    return name;
  }

  reserve(name: string): void {
    this.used.add(name);
  }

  /** A float32 initializer. */
  floats(hint: string, values: Float32Array | number[], dims: number[]): string {
    const name = this.fresh(hint);
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`internal error: initializer ${name} has ${data.length} values for dims [${dims}]`);
    const raw = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    this.initializers.push({ name, dims, dataType: DataType.FLOAT, rawData: raw });
    return name;
  }

  /** An int64 initializer (shapes, axes, pads). */
  int64s(hint: string, values: number[], dims = [values.length]): string {
    const name = this.fresh(hint);
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims, dataType: DataType.INT64, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  /** Adds a node; returns its output names (fresh names from the hint). */
  opN(opType: string, inputs: string[], attrs: Record<string, Attr>, hint: string, outputs: number): string[] {
    const outs = Array.from({ length: outputs }, (_, i) => this.fresh(outputs === 1 ? hint : `${hint}_out${i}`));
    this.nodes.push({
      name: this.fresh(`${hint}_node`),
      opType,
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => encodeAttr(k, v)),
    });
    return outs;
  }

  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, hint = opType.toLowerCase()): string {
    return this.opN(opType, inputs, attrs, hint, 1)[0]!;
  }

  /** Renames the last node's single output to `name` (used to give layer outputs their layer names). */
  renameLastOutput(from: string, to: string): void {
    for (const n of this.nodes) {
      const outs = n.output as string[];
      const i = outs.indexOf(from);
      if (i >= 0) outs[i] = to;
      const ins = n.input as string[];
      for (let j = 0; j < ins.length; j++) if (ins[j] === from) ins[j] = to;
    }
  }
}
