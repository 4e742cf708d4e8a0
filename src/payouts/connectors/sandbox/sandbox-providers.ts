/**
 * The providers of the route catalog (shared/domain/route-catalog.json), each of which gets a sandbox
 * connector. Kept here rather than read from the routing tables so the connectors depend on nothing in
 * routing; a provider added to the catalog is added here too.
 */
export const SANDBOX_PROVIDER_IDS = [
  'upwork',
  'payoneer',
  'correspondent',
  'wise',
  'zindigi',
  'sadapay',
] as const;

export function isSandboxProvider(providerId: string): boolean {
  return (SANDBOX_PROVIDER_IDS as readonly string[]).includes(providerId);
}
