import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const tools = ['clang', 'wasm-ld', 'wasm-objdump'];
const missing = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);

describe('native kernels binary', () => {
  // CI installs clang, lld and wabt (.ci/run), so this runs there; elsewhere it says why it skips.
  it.skipIf(missing.length > 0)(`kernelsWasm.ts is kernels.c, built and safety-checked${missing.length ? ` (skipped: ${missing.join(', ')} not installed)` : ''}`, () => {
    const script = fileURLToPath(new URL('./build.mjs', import.meta.url));
    const out = execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    expect(out).toContain('matches');
  }, 180_000); // a dozen clang runs: ~10 s of CPU, far longer on a loaded machine
});
