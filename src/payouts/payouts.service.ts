import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { PayoutInstruction, PayoutSource } from './payout-instruction';

@Injectable()
export class PayoutsService {
  /**
   * Creates the payout for a platform payout inside the caller's transaction, or finds the one that exists:
   * (connection, platform payout id) is unique, so two events about one payout make one payout.
   */
  async createFromInstruction(
    tx: EntityManager,
    source: PayoutSource,
    instruction: PayoutInstruction,
  ): Promise<{ payoutId: string; created: boolean }> {
    const inserted = await tx.query(
      `INSERT INTO payouts (partner_id, connection_id, platform, platform_payout_id, source_event_id, freelancer_ref,
                            gross, currency, client_name, client_country, description, service_category, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'received')
       ON CONFLICT (connection_id, platform_payout_id) DO NOTHING
       RETURNING id`,
      [
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
      ],
    );
    if (inserted.length) {
      await tx.query(`INSERT INTO payout_timeline (payout_id, status, detail) VALUES ($1, 'received', $2)`, [
        inserted[0].id,
        `announced by ${source.platform}`,
      ]);
      return { payoutId: inserted[0].id, created: true };
    }
    const [existing] = await tx.query(
      `SELECT id FROM payouts WHERE connection_id = $1 AND platform_payout_id = $2`,
      [source.connectionId, instruction.platformPayoutId],
    );
    return { payoutId: existing.id, created: false };
  }
}
