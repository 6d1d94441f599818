export { formatTable, runBench } from './bench';
export type { BenchDocument, BenchOptions } from './bench';
export { BENCH_EVENT, busGroup, eventsGroup, logGroup, protobufGroup } from './figures';
export type { FigureDef, FigureGroup } from './figures';
export { median } from './stats';
