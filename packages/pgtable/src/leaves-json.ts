/** The JSON `stage2` leaves of a table (CONTRACT §3): the table format's listing, in @mteperm/arm64. */
export { stage2LeavesJson } from '@mteperm/arm64';
export type { Stage2LeafJson } from '@mteperm/arm64';
