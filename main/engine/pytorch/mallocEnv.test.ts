import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PYTORCH_MALLOC_ENV, pytorchMallocShell, withPytorchMalloc } from './mallocEnv';

describe('PyTorch malloc settings', () => {
  it('are glibc tunables with whole-number byte values (32 MiB mmap threshold, 1 GiB trim threshold)', () => {
    expect(PYTORCH_MALLOC_ENV).toEqual({ MALLOC_MMAP_THRESHOLD_: '33554432', MALLOC_TRIM_THRESHOLD_: '1073741824' });
  });

  it("go beneath the caller's environment: its own MALLOC_* settings win", () => {
    expect(withPytorchMalloc({ PATH: '/bin' })).toEqual({ PATH: '/bin', ...PYTORCH_MALLOC_ENV });
    expect(withPytorchMalloc({ MALLOC_TRIM_THRESHOLD_: '0' })).toEqual({ ...PYTORCH_MALLOC_ENV, MALLOC_TRIM_THRESHOLD_: '0' });
  });

  it('as shell lines, export the defaults and keep what the environment already sets', () => {
    const run = (env: NodeJS.ProcessEnv) =>
      spawnSync('/bin/sh', ['-c', `${pytorchMallocShell()}env | grep '^MALLOC_' | sort`], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', ...env } });
    const plain = run({});
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stdout.trim().split('\n')).toEqual(['MALLOC_MMAP_THRESHOLD_=33554432', 'MALLOC_TRIM_THRESHOLD_=1073741824']);
    expect(run({ MALLOC_MMAP_THRESHOLD_: '4096' }).stdout.trim().split('\n')).toEqual(['MALLOC_MMAP_THRESHOLD_=4096', 'MALLOC_TRIM_THRESHOLD_=1073741824']);
  });
});
