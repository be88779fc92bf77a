// Face verification, the evidence a member's confirmation of a family binding needs. The provider's
// client is chosen by the name the platform gives (GET /v1/patient/face-verification). A real
// provider's H5 SDK would capture the face here; the sandbox (demo and tests only, never production)
// accepts `sandbox-face:<person number>`. No other provider is wired in yet: the app says so.
import { get } from './api.js';

export async function faceEvidence(personNumber) {
  const { provider } = await get('/v1/patient/face-verification');
  if (provider === 'sandbox') return `sandbox-face:${personNumber}`;
  const error = new Error(`no client for face-verification provider ${provider}`);
  throw error;
}
