/** Version of events.proto that this build writes. Bump it, and add an upcaster, for any change old readers cannot interpret. */
export const SCHEMA_VERSION = 2;

/** Oldest schema version this build can still read (upcast to SCHEMA_VERSION on decode). */
export const MIN_READABLE_SCHEMA_VERSION = 1;

/** `vcpu` value of an event that is not tied to a vCPU (VM-wide ioctls, host probing). */
export const NO_VCPU = -1;
