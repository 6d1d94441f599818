// The plugin host's load error, re-exported: it is part of the runtime's public surface.
export { PolicyLoadError } from '@mteperm/plugin-api/host';
export type { PolicyLoadErrorCode } from '@mteperm/plugin-api/host';
