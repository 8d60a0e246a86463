import { describe, expect, it } from 'vitest';
import { parse } from '../schema';
import { MAX_PROJECT_NAME, projectFileNameFor, projectNameProblem, PROJECT_NAME_PATTERN } from './projects';
import { ENGINE_SCHEMAS } from './schemas';

describe('project file names', () => {
  const good = ['my-net.json', 'my-net.layerforge', 'My Net (2).json', 'résumé.json', 'a.b.json', `${'x'.repeat(MAX_PROJECT_NAME - 5)}.json`];
  const bad = ['../x.json', 'a/b.json', 'a\\b.json', '.x.json', 'a..b.json', 'x.txt', 'x.JSON', 'x.LAYERFORGE', '.layerforge', 'x.layerforge.bak', 'con.json', 'LPT1.json', ' x.json', 'x.json ', 'a:b.json', 'a\u0000.json', '', '.json', `${'x'.repeat(MAX_PROJECT_NAME - 4)}.json`];

  it('the shared check and the request schema agree', () => {
    for (const name of good) {
      expect(projectNameProblem(name), name).toBeNull();
      expect(parse(ENGINE_SCHEMAS.openProject!, { name }).ok, name).toBe(true);
    }
    for (const name of bad) {
      expect(projectNameProblem(name), name).not.toBeNull();
      // The schema may accept a few the engine refuses (reserved names, trailing spaces); never the reverse.
      if (PROJECT_NAME_PATTERN.test(name)) expect(['con.json', 'LPT1.json']).toContain(name);
    }
  });

  it('derives a valid file name from any project title', () => {
    for (const title of ['My Net', '../../etc/passwd', 'a/b\\c', '...', '', 'CON', 'x'.repeat(500), 'net.json', ' spaced  out ', 'tab\tname', 'ümlaut ñet']) {
      const name = projectFileNameFor(title);
      expect(projectNameProblem(name), `${JSON.stringify(title)} -> ${name}`).toBeNull();
    }
    expect(projectFileNameFor('My Net')).toBe('My-Net.json');
    expect(projectFileNameFor('net.json')).toBe('net.json');
  });
});
