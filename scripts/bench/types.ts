/** One benchmark module: measures a group of figures. Add a module file and list it in index.ts. */
export interface BenchOptions {
  /** Training batches of 64 on the fastest backend (wasm). */
  batches: number;
  /** Training batches on the slow pure-JS cpu backend. */
  cpuBatches: number;
  /** Backends to measure (default: every one that initialises here, wasm and cpu). */
  backends: string[];
  log: (line: string) => void;
  /** `--template a,b`: the templates a module measures (profile), default its own list. */
  template?: string;
}

export interface Figure {
  /** e.g. 'cifar10-cnn.train.wasm' */
  id: string;
  label: string;
  value: number | null;
  unit: string;
  /** The peer figure's id (e.g. 'pytorch.train'), for an ours/peer ratio. */
  peer?: string;
  note?: string;
}

export interface BenchModule {
  name: string;
  /** Runs only when named in --only (the GPU check: minutes on a software adapter, no figure of ours elsewhere). */
  optIn?: boolean;
  run(opts: BenchOptions): Promise<Figure[]>;
}
