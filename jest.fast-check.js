// With MTEPERM_PROPS_SEED set (CI sets it), every fast-check property runs from that seed, so a CI
// result can be reproduced exactly; without it (developers, `npm run test:props`) seeds are random
// and fast-check prints the seed of any counterexample.
const seed = process.env.MTEPERM_PROPS_SEED;
if (seed !== undefined && seed !== '') {
  require('fast-check').configureGlobal({ seed: Number(seed) });
}
