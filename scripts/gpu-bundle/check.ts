/**
 * The GPU check of the offline GPU-check bundle (`npm run gpu-bundle`, build.ts): bundled by esbuild into
 * gpu-check.mjs, it runs `npm run bench -- --only gpu` (scripts/bench/index.ts's main, the same options
 * and the same JSON/markdown output) from the bundle's own folder, whose node_modules holds only tfjs
 * and the `webgpu` package for one platform. Before and after the run it says, on stderr, which WebGPU
 * adapter Dawn offers, and clearly when there is no hardware one.
 *
 *   node gpu-check.mjs [--json] [--batches N] [--templates cifar10-cnn,resnet-small]
 *
 * `--templates` is the bundle's only option of its own: it limits the check to some of the GPU
 * templates (the bundle's test runs cifar10-cnn alone).
 */
import { readFileSync } from 'node:fs';
import { describeAdapter, probeWebgpu, type WebgpuProbe } from '../../main/engine/backends/webgpu';
import { GPU_TEMPLATES } from '../bench/gpu';
import { main } from '../bench/index';
import { hostPlatform, type BundleManifest } from './platform';

/** Removes `--templates X` from argv and returns the templates asked for (null: all of them). */
export function takeTemplates(argv: string[]): { argv: string[]; templates: string[] | null } {
  const rest: string[] = [];
  let templates: string[] | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = a === '--templates' ? argv[++i] : a.startsWith('--templates=') ? a.slice('--templates='.length) : undefined;
    if (value === undefined && a !== '--templates') {
      rest.push(a);
      continue;
    }
    const list = (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const known: readonly string[] = GPU_TEMPLATES;
    const unknown = list.filter((t) => !known.includes(t));
    if (list.length === 0 || unknown.length) throw new Error(`--templates takes a comma-separated list of ${known.join(', ')}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}`);
    templates = list;
  }
  return { argv: rest, templates };
}

/** The sentence said about the adapter before and after the run. */
export function adapterSentence(probe: WebgpuProbe): string {
  if (!probe.ok || !probe.adapter) return `NO GPU adapter found: ${probe.reason}. Only wasm (CPU) figures can be measured here.`;
  if (probe.adapter.software) {
    return `NO hardware GPU adapter found: the only WebGPU adapter is ${describeAdapter(probe.adapter)}. Its webgpu figures are the CPU's, not a GPU's.`;
  }
  return `hardware GPU adapter: ${describeAdapter(probe.adapter)}`;
}

/** The bundle's main: see the header. Returns the exit code. */
export async function runGpuCheck(bundleDir: string, argvIn: string[] = process.argv.slice(2)): Promise<number> {
  const log = (line: string) => process.stderr.write(`gpu-check: ${line}\n`);
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 20) {
    log(`Node ${process.versions.node} is too old: the GPU check needs Node 20 or newer.`);
    return 2;
  }
  // gpu.ts reads resources/templates/*.json and scripts/bench/pytorch-gpu.py from the working folder.
  process.chdir(bundleDir);
  let manifest: BundleManifest | null = null;
  try {
    manifest = JSON.parse(readFileSync('bundle.json', 'utf8')) as BundleManifest;
  } catch {
    log('bundle.json is missing beside gpu-check.mjs: cannot tell which platform this bundle is for.');
  }
  const host = hostPlatform();
  const mismatch = manifest && manifest.platform !== host ? `this bundle holds dawn.node for ${manifest.platform}, but this machine is ${host}: webgpu cannot load; build one with \`npm run gpu-bundle -- --platform ${host}\`` : null;
  if (manifest) log(`bundle for ${manifest.platform}, built ${manifest.built} from ${manifest.commit}; Node ${process.versions.node}`);
  if (mismatch) log(mismatch);

  let parsed: { argv: string[]; templates: string[] | null };
  try {
    parsed = takeTemplates(argvIn);
  } catch (error) {
    log(error instanceof Error ? error.message : String(error));
    return 2;
  }
  if (parsed.templates) {
    // GPU_TEMPLATES is a plain array at run time: gpu.ts iterates it for every backend.
    const list = GPU_TEMPLATES as unknown as string[];
    list.splice(0, list.length, ...parsed.templates);
  }
  const argv = parsed.argv.some((a) => a === '--only' || a.startsWith('--only=')) ? parsed.argv : ['--only', 'gpu', ...parsed.argv];

  const probe = await probeWebgpu();
  const sentence = mismatch ? `NO GPU adapter: ${mismatch}` : adapterSentence(probe);
  log(sentence);
  let code: number;
  try {
    code = await main(argv);
  } catch (error) {
    // parseArgs' errors (an unknown option …): the bench's own options, plus --templates.
    log(error instanceof Error ? error.message : String(error));
    code = 2;
  }
  log(sentence);
  return code;
}
