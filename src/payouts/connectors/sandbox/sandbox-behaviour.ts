import { createHmac } from 'node:crypto';

/**
 * How one provider's sandbox behaves. Rates are probabilities in [0, 1], not money, so plain numbers.
 * Latency and settlement delay are whole milliseconds.
 */
export interface SandboxSettings {
  providerId: string;
  latencyMs: number;
  settleAfterMs: number;
  transientFailureRate: number;
  permanentFailureRate: number;
  timeoutRate: number;
  returnRate: number;
  /** When ops last changed them; null while the defaults apply. */
  updatedAt: Date | null;
}

export const MAX_DELAY_MS = 600_000;

/**
 * A fresh start shows the happy path: nothing fails, nothing comes back, settlement within 2 s (the provider
 * settles `settleAfterMs`, 1 s by default, after accepting, and the settlement polling sees it within 500 ms).
 */
export function defaultSettings(providerId: string, settleAfterMs: number): SandboxSettings {
  return {
    providerId,
    latencyMs: 0,
    settleAfterMs,
    transientFailureRate: 0,
    permanentFailureRate: 0,
    timeoutRate: 0,
    returnRate: 0,
    updatedAt: null,
  };
}

/**
 * A uniform draw in [0, 1) fixed by the seed and the parts (provider, key, call number, purpose):
 * HMAC-SHA256 keyed with the seed, first 48 bits. The same seed replays the same outcomes, which is
 * what makes a sandbox run reproducible in tests while still looking random.
 */
export function drawUniform(seed: string, parts: Array<string | number>): number {
  const digest = createHmac('sha256', seed).update(JSON.stringify(parts)).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

export type SendOutcome = 'permanent' | 'transient' | 'timeout' | 'accept';

/**
 * Picks the outcome of one send from one draw. The rates are consecutive bands of [0, 1): permanent,
 * then transient, then timeout, each cut where 1 is reached. While they sum to at most 1 each happens at
 * exactly its rate; past that the earlier kinds win, so "permanentFailureRate: 1" means every send is
 * rejected whatever the other rates still say.
 */
export function chooseOutcome(settings: SandboxSettings, u: number): SendOutcome {
  let edge = settings.permanentFailureRate;
  if (u < edge) return 'permanent';
  edge += settings.transientFailureRate;
  if (u < edge) return 'transient';
  edge += settings.timeoutRate;
  if (u < edge) return 'timeout';
  return 'accept';
}

export type SandboxTransferState = 'processing' | 'settled' | 'returned';

const ORDER: Record<SandboxTransferState, number> = { processing: 0, settled: 1, returned: 2 };

/**
 * A transfer's state at `now`: processing until settles_at, settled from then, returned from returns_at
 * when it is to be returned. Never earlier than what was already recorded, so a clock moved back (or a
 * late read) cannot undo a settlement or a return.
 */
export function transferStateAt(
  transfer: { state: SandboxTransferState; settlesAt: Date; returnsAt: Date | null },
  now: Date,
): SandboxTransferState {
  const byTime: SandboxTransferState =
    transfer.returnsAt && now >= transfer.returnsAt
      ? 'returned'
      : now >= transfer.settlesAt
        ? 'settled'
        : 'processing';
  return ORDER[byTime] > ORDER[transfer.state] ? byTime : transfer.state;
}
