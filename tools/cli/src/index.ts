export { main, buildProgram, VERSION } from './main';
export type { CliIo } from './io';
export { EXIT_OK, EXIT_EXPECT_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL } from './errors';
