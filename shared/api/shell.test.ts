import { describe, expect, it } from 'vitest';
import { isAbsolutePathText, MAX_PATHS, parseShellEvent, parseShellRequest } from './shell';

describe('the shell contract', () => {
  it('accepts the messages the renderer sends', () => {
    for (const m of [
      { type: 'ready' },
      { type: 'menuState', state: { enabled: { undo: true }, checked: {} } },
      { type: 'document', doc: { screen: 'start', name: '', path: null, dirty: false } },
      { type: 'nativeEdit', command: 'undo' },
      { type: 'openPaths', paths: ['/a', 'C:\\b', '\\\\server\\share\\c'] },
    ]) {
      expect(parseShellRequest(m), JSON.stringify(m)).toMatchObject({ ok: true, value: m });
    }
  });

  it('refuses anything else with a reason', () => {
    const bad: [unknown, RegExp][] = [
      [undefined, /not a shell message/],
      [{ type: 'openPaths', paths: Array(MAX_PATHS + 1).fill('/a') }, /1 to 64/],
      [{ type: 'openPaths', paths: ['/a\0b'] }, /absolute/],
      [{ type: 'openPaths', paths: ['/' + 'a'.repeat(5000)] }, /absolute/],
      [{ type: 'menuState', state: { enabled: { undo: 1 }, checked: {} } }, /true or false/],
      [{ type: 'menuState', state: { enabled: { __proto__x: true }, checked: {} } }, /not an action name/],
      [{ type: 'menuState', state: { enabled: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`a${i}`, true])), checked: {} } }, /at most 256/],
      [{ type: 'document', doc: { screen: 'x', name: '', path: null, dirty: false } }, /screen/],
      [{ type: 'document', doc: { screen: 'editor', name: 'n', path: '', dirty: false } }, /path/],
      [{ type: 'nativeEdit', command: 'toString' }, /one of/],
      [{ type: 'quit' }, /unknown shell message type/],
    ];
    for (const [m, why] of bad) {
      const r = parseShellRequest(m);
      expect(r.ok, JSON.stringify(m)?.slice(0, 80)).toBe(false);
      if (!r.ok) expect(r.error).toMatch(why);
    }
  });

  it('the renderer checks what main sends', () => {
    expect(parseShellEvent({ type: 'menuAction', action: 'undo', byAccelerator: true })).toMatchObject({ ok: true, value: { action: 'undo', byAccelerator: true } });
    expect(parseShellEvent({ type: 'menuAction', action: 'x; alert(1)' }).ok).toBe(false);
    expect(parseShellEvent({ type: 'openFile', target: { kind: 'model', path: '/m/model.json' } })).toMatchObject({ ok: true });
    expect(parseShellEvent({ type: 'openFile', target: { kind: 'shell', path: '/m' } }).ok).toBe(false);
    expect(parseShellEvent({ type: 'openFile', target: { kind: 'project', path: 'rel' } }).ok).toBe(false);
    expect(isAbsolutePathText('relative/x')).toBe(false);
  });
});
