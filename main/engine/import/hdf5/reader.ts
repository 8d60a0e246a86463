import { ModelImportError } from '../errors';

/**
 * A read-only view of an HDF5 file through h5wasm (the HDF5 C library compiled to WebAssembly; its Node
 * build embeds the wasm and reads the file from disk in place, so no network and no whole-file copy).
 * Every failure of the library becomes a ModelImportError naming the file and the object read.
 */

type H5Wasm = typeof import('h5wasm/node');
type H5File = InstanceType<H5Wasm['File']>;
type H5Group = InstanceType<H5Wasm['Group']>;
type H5Dataset = InstanceType<H5Wasm['Dataset']>;

let loading: Promise<H5Wasm> | undefined;
function h5wasm(): Promise<H5Wasm> {
  loading ??= import('h5wasm/node').then(async (m) => {
    const mod = await m.ready;
    // HDF5 errors become exceptions (with the library's message) instead of a stack printed on stderr.
    mod.activate_throwing_error_handler();
    return m;
  });
  return loading;
}

/** Loads h5wasm (a worker does it before its first request, so that the load does not count against a read's deadline). */
export async function loadH5wasm(): Promise<void> {
  await h5wasm();
}

/** The 8-byte signature every HDF5 file starts with (Keras writes no user block). */
export const HDF5_MAGIC = Uint8Array.of(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a);

export function isHdf5(head: Uint8Array): boolean {
  return head.length >= HDF5_MAGIC.length && HDF5_MAGIC.every((b, i) => head[i] === b);
}

/** One weight array, values as float32 in the file's (row-major) order. */
export interface H5Array {
  shape: number[];
  values: Float32Array;
}

/** One dataset array may hold at most this many bytes (a damaged header must not ask for gigabytes). */
const MAX_DATASET_BYTES = 2 ** 31;

/** The library's own reason: for an HDF5 error stack, its innermost line ('truncated file: eof = 3000, …'). */
function message(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const reasons = [...text.matchAll(/\(\): (.+)$/gm)].map((m) => m[1]!.trim());
  return (reasons.at(-1) ?? text.split('\n')[0]!).slice(0, 300);
}

function toFloat32(value: unknown, count: number, bfloat16: boolean, what: string): Float32Array {
  if (value instanceof Float32Array) return value.length === count ? value : Float32Array.from(value);
  if (bfloat16 && value instanceof Uint16Array) {
    const bits = new Uint32Array(value.length);
    for (let i = 0; i < value.length; i++) bits[i] = value[i]! << 16;
    return new Float32Array(bits.buffer);
  }
  if (value instanceof BigInt64Array || value instanceof BigUint64Array) return Float32Array.from(value, (v) => Number(v));
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Float32Array.from(value as unknown as ArrayLike<number>);
  if (typeof value === 'number') return Float32Array.of(value);
  if (typeof value === 'bigint') return Float32Array.of(Number(value));
  if (typeof value === 'boolean') return Float32Array.of(value ? 1 : 0);
  throw new ModelImportError(`${what} does not hold numbers`);
}

/** A string (or the strings) an attribute holds; byte strings are decoded as UTF-8. */
function asStrings(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (value instanceof Uint8Array) return [new TextDecoder().decode(value)];
  if (Array.isArray(value)) {
    const out: string[] = [];
    for (const v of value as unknown[]) {
      const s = asStrings(v);
      if (!s) return undefined;
      out.push(...s);
    }
    return out;
  }
  return undefined;
}

export class H5Reader {
  private constructor(
    private readonly file: H5File,
    private readonly h5: H5Wasm,
    readonly path: string,
  ) {}

  /** Opens `path` read-only; a file that is not HDF5 (or is damaged at its root) is a ModelImportError. */
  static async open(path: string): Promise<H5Reader> {
    const h5 = await h5wasm();
    let file: H5File;
    try {
      file = new h5.File(path, 'r');
    } catch (error) {
      throw new ModelImportError(`${path} cannot be read as an HDF5 file (damaged or not HDF5): ${message(error)}`);
    }
    if (!file.file_id || Number(file.file_id) < 0) throw new ModelImportError(`${path} cannot be read as an HDF5 file (damaged or not HDF5)`);
    return new H5Reader(file, h5, path);
  }

  close(): void {
    try {
      this.file.close();
    } catch {
      // closing a damaged file may fail; nothing is left to release
    }
  }

  private guard<T>(what: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      if (error instanceof ModelImportError) throw error;
      throw new ModelImportError(`${this.path}: cannot read ${what} (the file is damaged?): ${message(error)}`);
    }
  }

  private entity(path: string): unknown {
    return this.guard(`'${path}'`, () => (path === '' || path === '/' ? this.file : this.file.get(path)));
  }

  private group(path: string): H5Group | undefined {
    const e = this.entity(path);
    return e instanceof this.h5.Group ? e : undefined;
  }

  isGroup(path: string): boolean {
    return this.group(path) !== undefined;
  }

  isDataset(path: string): boolean {
    return this.entity(path) instanceof this.h5.Dataset;
  }

  /** Member names of a group ([] when `path` is not a group). */
  keys(path: string): string[] {
    const g = this.group(path);
    return g ? this.guard(`the members of '${path}'`, () => g.keys()) : [];
  }

  /** An attribute's value (undefined when the object or the attribute is absent). */
  attr(path: string, name: string): unknown {
    const e = this.entity(path);
    if (!(e instanceof this.h5.Group) && !(e instanceof this.h5.Dataset)) return undefined;
    return this.guard(`attribute '${name}' of '${path || '/'}'`, () => {
      const attrs = (e as H5Group | H5Dataset).attrs;
      return name in attrs ? attrs[name]!.value : undefined;
    });
  }

  /** A string attribute (undefined when absent or not a string). */
  attrString(path: string, name: string): string | undefined {
    const s = asStrings(this.attr(path, name));
    return s && s.length === 1 ? s[0] : undefined;
  }

  /**
   * A list-of-strings attribute. Keras splits one too large for an HDF5 object header into `name0`,
   * `name1`, … (save_attributes_to_hdf5_group); those are joined. An empty attribute (Keras writes an
   * empty float array for a layer without weights) is [].
   */
  attrStrings(path: string, name: string): string[] | undefined {
    const whole = this.attr(path, name);
    if (whole !== undefined) {
      if (ArrayBuffer.isView(whole) && (whole as unknown as ArrayLike<number>).length === 0) return [];
      if (Array.isArray(whole) && whole.length === 0) return [];
      return asStrings(whole);
    }
    const parts: string[] = [];
    for (let i = 0; ; i++) {
      const chunk = this.attr(path, `${name}${i}`);
      if (chunk === undefined) break;
      const s = asStrings(chunk);
      if (!s) return undefined;
      parts.push(...s);
    }
    return parts.length ? parts : undefined;
  }

  /** A dataset's shape without reading its values (undefined when `path` is not a dataset). */
  shape(path: string): number[] | undefined {
    const e = this.entity(path);
    if (!(e instanceof this.h5.Dataset)) return undefined;
    return this.guard(`the shape of '${path}'`, () => (e.shape ?? []).map(Number));
  }

  /** A numeric dataset as float32 (float16 / float64 / integers converted; Keras' bfloat16 too). */
  read(path: string): H5Array {
    const e = this.entity(path);
    if (!(e instanceof this.h5.Dataset)) throw new ModelImportError(`${this.path}: '${path}' is not a dataset`);
    return this.guard(`the dataset '${path}'`, () => {
      const shape = (e.shape ?? []).map(Number);
      const meta = e.metadata;
      const count = shape.reduce((a, b) => a * b, 1);
      if (meta.type !== this.h5.Module.H5T_class_t.H5T_FLOAT.value && meta.type !== this.h5.Module.H5T_class_t.H5T_INTEGER.value) {
        throw new ModelImportError(`${this.path}: '${path}' is not a numeric dataset`);
      }
      if (!Number.isSafeInteger(count) || count * meta.size > MAX_DATASET_BYTES) throw new ModelImportError(`${this.path}: '${path}' claims ${shape.join('×')} values, more than one array can hold (the file is damaged?)`);
      const bfloat16 = asStrings(e.attrs.dtype?.value)?.[0] === 'bfloat16';
      const value = e.value;
      const values = meta.type === this.h5.Module.H5T_class_t.H5T_FLOAT.value && meta.size === 2 && !bfloat16 && value instanceof Uint16Array ? halfToFloat(value) : toFloat32(value, count, bfloat16, `${this.path}: '${path}'`);
      if (values.length !== count) throw new ModelImportError(`${this.path}: '${path}' holds ${values.length} values for the shape [${shape.join(', ')}]`);
      return { shape, values };
    });
  }
}

/** IEEE half floats (as uint16 bits) to float32. */
function halfToFloat(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    out[i] = exp === 0 ? sign * 2 ** -14 * (frac / 1024) : exp === 31 ? (frac ? NaN : sign * Infinity) : sign * 2 ** (exp - 15) * (1 + frac / 1024);
  }
  return out;
}
