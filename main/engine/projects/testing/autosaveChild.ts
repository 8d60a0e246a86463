/** Test helper run as a child process: writes one autosave (argv: dir, key, name), says so, then idles until killed. */
import { newProject } from '../../../../shared/project';
import { writeRecovery } from '../recovery';

const [dir, key, name] = process.argv.slice(2);
if (dir && key && name) {
  writeRecovery(key, newProject(name), { dir })
    .then(() => {
      process.stdout.write('written\n');
      setInterval(() => {}, 1000);
    })
    .catch((error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exit(2);
    });
}
