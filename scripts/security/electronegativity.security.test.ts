import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { evaluate, JUSTIFIED, parseCsv } from './electronegativity.mjs';

const script = fileURLToPath(new URL('./electronegativity.mjs', import.meta.url));
const CSV = `issue, severity, confidence, filename, location, sample, description, url
CSP_GLOBAL_CHECK,"MEDIUM","CERTAIN","N/A","0:0",N/A,"No CSP has been detected in the target application",https://x
SANDBOX_JS_CHECK,"MEDIUM","FIRM","main/index.ts","107:14","const win = new BrowserWindow(windowOptions(join(here, '../preload/index.cjs')));","Use sandbox, ""quoted""",https://x
SANDBOX_JS_CHECK,"MEDIUM","FIRM","main/other.ts","3:1","new BrowserWindow({ webPreferences: { sandbox: false } })","Use sandbox",https://x
NODE_INTEGRATION_JS_CHECK,"HIGH","FIRM","main/index.ts","9:1","new BrowserWindow({ webPreferences: { nodeIntegration: true } })","Disable nodeIntegration",https://x
ELECTRON_VERSION_JSON_CHECK,"INFORMATIONAL","CERTAIN","package.json","1:0",N/A,"version",https://x
`;

describe('electronegativity gate', () => {
  it('parses the CSV report, quotes and doubled quotes included', () => {
    const rows = parseCsv(CSV);
    expect(rows).toHaveLength(5);
    expect(rows[1]).toMatchObject({ issue: 'SANDBOX_JS_CHECK', severity: 'MEDIUM', filename: 'main/index.ts', location: '107:14', description: 'Use sandbox, "quoted"' });
    expect(rows[1]!.sample).toContain('windowOptions(join(here');
  });

  it('passes informational and justified findings, fails the rest (a justification covers one check, file and sample)', () => {
    const r = evaluate(parseCsv(CSV));
    expect(r.informational.map((f) => f.issue)).toEqual(['ELECTRON_VERSION_JSON_CHECK']);
    expect(r.justified.map((f) => `${f.issue}@${f.filename}`)).toEqual(['CSP_GLOBAL_CHECK@N/A', 'SANDBOX_JS_CHECK@main/index.ts']);
    // The same check in another file, or another sample in the same file, is not covered.
    expect(r.failing.map((f) => `${f.issue}@${f.filename}`)).toEqual(['SANDBOX_JS_CHECK@main/other.ts', 'NODE_INTEGRATION_JS_CHECK@main/index.ts']);
    expect(evaluate([{ issue: 'X', severity: 'CRITICAL', filename: 'a' }]).failing).toHaveLength(1);
  });

  it('every justification has a one-line reason', () => {
    for (const j of JUSTIFIED) {
      expect(j.reason.length, j.check).toBeGreaterThan(20);
      expect(j.reason, j.check).not.toContain('\n');
    }
  });

  it('exits 1 on an insecure Electron tree (run offline)', { timeout: 60_000 }, () => {
    const root = mkdtempSync(join(tmpdir(), 'lf-insecure-'));
    try {
      mkdirSync(join(root, 'main'));
      writeFileSync(join(root, 'main', 'index.ts'), `import { BrowserWindow } from 'electron';
export const win = new BrowserWindow({ webPreferences: { nodeIntegration: true, contextIsolation: false, sandbox: false, webSecurity: false } });
win.loadURL('http://example.com/');
`);
      const run = spawnSync(process.execPath, [script, '--root', root], { encoding: 'utf8', timeout: 55_000 });
      expect(run.status, run.stdout + run.stderr).toBe(1);
      expect(run.stdout).toMatch(/FAILING\s+HIGH\s+CONTEXT_ISOLATION_JS_CHECK main\/index\.ts/);
      expect(run.stdout).toMatch(/FAILING .*WEB_SECURITY_JS_CHECK/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
