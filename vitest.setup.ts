// Property-based tests run with a fixed seed in CI so a run is reproducible; set FC_SEED=random
// (or a number) to explore other cases locally. fast-check prints the seed of any failure.
import fc from 'fast-check';

const env = process.env.FC_SEED;
if (env !== 'random') fc.configureGlobal({ seed: env ? Number(env) : 20261129 });
