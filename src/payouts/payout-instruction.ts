import Decimal from 'decimal.js';

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
