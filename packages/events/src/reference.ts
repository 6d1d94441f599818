/**
 * The generated protobufjs static module itself, without the model's checked codec around it: what
 * tools/bench measures the codec against. Not for model code, which goes through `encodeEnvelope` /
 * `decodeEnvelope` (bigint-safe, checked).
 */
export { mteperm } from '../generated/pb';
