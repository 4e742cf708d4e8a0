import Decimal from 'decimal.js';
import { placeholders } from '../database/sql';

export const SERVICE_CATEGORIES = [
  'software_development',
  'web_development',
  'data_analysis',
  'it_support',
  'graphic_design',
  'digital_marketing',
  'content_writing',
  'virtual_assistance',
  'online_teaching',
  'other',
] as const;
export type ServiceCategory = (typeof SERVICE_CATEGORIES)[number];

/** What a platform adapter makes of a valid payout event: everything the pipeline needs, nothing of the wire format. */
export interface PayoutInstruction {
  platformPayoutId: string;
  freelancerRef: string;
  gross: Decimal;
  currency: 'USD';
  client: { name: string; country: string };
  description: string;
  serviceCategory: ServiceCategory;
}

export interface PayoutSource {
  partnerId: string;
  connectionId: string;
  platform: string;
  /** The webhook_events row that first announced this payout. */
  sourceEventId: string;
}

/**
 * The payouts row a platform payout makes, as column list, values and placeholders: written by the
 * webhook intake's one-statement insert of an event and its payout.
 */
export function payoutRow(source: PayoutSource, instruction: PayoutInstruction) {
  const values = [
    source.partnerId,
    source.connectionId,
    source.platform,
    instruction.platformPayoutId,
    source.sourceEventId,
    instruction.freelancerRef,
    instruction.gross.toFixed(2),
    instruction.currency,
    instruction.client.name,
    instruction.client.country,
    instruction.description,
    instruction.serviceCategory,
    'received',
  ];
  return {
    columns: `partner_id, connection_id, platform, platform_payout_id, source_event_id, freelancer_ref, gross, currency,
              client_name, client_country, description, service_category, status`,
    values,
    placeholders: (from: number) => placeholders(from, values.length),
    receivedDetail: `announced by ${source.platform}`,
  };
}
