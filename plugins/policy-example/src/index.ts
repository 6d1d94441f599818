import { DECISIONS, definePolicy } from '@mteperm/plugin-api';
import type { FaultPolicy } from '@mteperm/plugin-api';

export interface DeviceSeaOptions {
  /** Backings (CONTRACT §1.2) treated as device memory. Default: `['vfio-bar-wb']`. */
  readonly backings?: readonly string[];
}

/**
 * An example third-party policy, meant to be copied: a guest that uses allocation tags on
 * cacheable device memory (a VFIO BAR mapped write-back, e.g. GPU memory) gets a synchronous
 * external abort, as Catalin Marinas proposed for memory the guest knows is not standard RAM
 * (DOMAIN B §1.2); every other fault is left to the next policy in the chain (`pass`).
 */
export function createDeviceSeaPolicy(options: DeviceSeaOptions = {}): FaultPolicy {
  const device = new Set(options.backings ?? ['vfio-bar-wb']);
  return definePolicy({
    name: 'device-sea',
    version: '0.1.0',
    decide: (fault) => (device.has(fault.backing) ? DECISIONS['inject-sea'] : DECISIONS.pass),
  });
}

/** The policy with its defaults: what `--policy device-sea` loads. */
export const deviceSea = createDeviceSeaPolicy();

export default deviceSea;
