import type { EventBus, PublishContext } from '@mteperm/bus';
import type { CpuIdRegs, Envelope, EnvelopeOf } from '@mteperm/events';
import type { GuestIdRegs } from './guest-view';
import { probeHostCpus } from './host-cpus';
import { evolveGuestView, guestIdRegsOf, initialGuestViewState } from './vm-view';
import type { GuestViewState } from './vm-view';

/** Publishes `HostCpusProbed` for these CPUs (raw, sanitised, capabilities). */
export function publishHostCpus(bus: EventBus, cpus: readonly CpuIdRegs[], context: PublishContext = {}): EnvelopeOf<'HostCpusProbed'> {
  return bus.publish({ type: 'HostCpusProbed', data: probeHostCpus(cpus) }, context);
}

/**
 * The cpufeature package on the bus: folds the events the guest view depends on and answers
 * guest ID-register queries. Replaying a log through `apply` gives the same answers.
 */
export class CpuFeatureAdapter {
  private state: GuestViewState = initialGuestViewState();
  private readonly unsubscribe: (() => void)[] = [];

  constructor(bus?: EventBus) {
    if (bus === undefined) return;
    const fold = (e: Envelope): void => this.apply(e);
    for (const type of ['HostCpusProbed', 'VmCreated', 'CapabilityEnabled', 'VcpuCreated'] as const) {
      this.unsubscribe.push(bus.subscribe('cpufeature', type, fold));
    }
  }

  /** Folds one event (what the subscriptions do; also used to rebuild from a log). */
  apply(e: Envelope): void {
    this.state = evolveGuestView(this.state, e);
  }

  /** ID_AA64PFR1_EL1 and ID_AA64PFR2_EL1 as vCPU `vcpu` of VM `vm` reads them. */
  guestIdRegs(vm: number, vcpu: number): GuestIdRegs {
    return guestIdRegsOf(this.state, vm, vcpu);
  }

  get view(): GuestViewState {
    return this.state;
  }

  dispose(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }
}
