/**
 * Writes a small CIFAR-10 dataset in the official binary layout (cifar-10-batches-bin/data_batch_1..5.bin
 * + test_batch.bin, records of 1 label byte + 3072 bytes of R, G and B planes), for tests. Each class
 * has its own tint and stripe direction plus noise, so a model can learn it within a few epochs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mulberry32 } from '../../../shared/random';

const rng = mulberry32;

function records(count: number, rand: () => number): Buffer {
  const buf = Buffer.alloc(count * 3073);
  for (let r = 0; r < count; r++) {
    const label = r % 10;
    const o = r * 3073;
    buf[o] = label;
    const tint = [(label * 37) % 256, (label * 91 + 60) % 256, (label * 53 + 120) % 256];
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const stripe = ((label < 5 ? x : y) >> (1 + (label % 3))) % 2 === 0 ? 40 : -40;
          const v = tint[c]! + stripe + (rand() - 0.5) * 60;
          buf[o + 1 + c * 1024 + y * 32 + x] = Math.max(0, Math.min(255, Math.round(v)));
        }
      }
    }
  }
  return buf;
}

/** Writes `<dir>/cifar-10-batches-bin/` with `trainPerBatch` × 5 training and `test` test records; returns that folder. */
export function writeTinyCifar10(dir: string, trainPerBatch = 60, test = 100, seed = 1): string {
  const out = join(dir, 'cifar-10-batches-bin');
  mkdirSync(out, { recursive: true });
  const rand = rng(seed);
  for (let i = 1; i <= 5; i++) writeFileSync(join(out, `data_batch_${i}.bin`), records(trainPerBatch, rand));
  writeFileSync(join(out, 'test_batch.bin'), records(test, rand));
  writeFileSync(join(out, 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n');
  return out;
}
