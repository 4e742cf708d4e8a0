import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';

type Db = DataSource | EntityManager;

/** Rows the invoice tests need, written straight to Postgres: the payout pipeline is not under test there. */
export async function insertPartner(db: Db, name = `partner-${randomUUID()}`): Promise<string> {
  const [row] = await db.query(`INSERT INTO partners (name) VALUES ($1) RETURNING id`, [name]);
  return row.id;
}

export async function insertFreelancer(
  db: Db,
  partnerId: string,
  overrides: { name?: string; ntn?: string | null; psebRegistrationNo?: string | null } = {},
): Promise<string> {
  const [row] = await db.query(
    `INSERT INTO freelancers (partner_id, external_ref, name, cnic, ntn, pseb_registration_no)
     VALUES ($1, $2, $3, '35202-1234567-1', $4, $5) RETURNING id`,
    [
      partnerId,
      `fl-${randomUUID()}`,
      overrides.name ?? 'Ayesha Khan',
      overrides.ntn === undefined ? '1234567-8' : overrides.ntn,
      overrides.psebRegistrationNo === undefined ? 'PSEB-F-12345' : overrides.psebRegistrationNo,
    ],
  );
  return row.id;
}

export async function insertConnection(db: Db, partnerId: string, platform = 'upwork'): Promise<string> {
  const [row] = await db.query(
    `INSERT INTO platform_connections (partner_id, platform, scheme, secret_ciphertext)
     VALUES ($1, $2, 'standard-webhooks', $3) RETURNING id`,
    [partnerId, platform, Buffer.from('not-a-real-secret')],
  );
  return row.id;
}

export interface PayoutRowInput {
  partnerId: string;
  freelancerId: string;
  connectionId: string;
  gross?: string;
  serviceCategory?: string;
  clientName?: string;
  clientCountry?: string;
  description?: string;
}

export async function insertPayout(db: Db, p: PayoutRowInput): Promise<string> {
  const [row] = await db.query(
    `INSERT INTO payouts (partner_id, connection_id, platform, platform_payout_id, source_event_id, freelancer_ref,
                          freelancer_id, gross, currency, client_name, client_country, description, service_category,
                          status)
     VALUES ($1, $2, 'upwork', $3, $4, 'fl-ref', $5, $6, 'USD', $7, $8, $9, $10, 'routed') RETURNING id`,
    [
      p.partnerId,
      p.connectionId,
      `UPW-PO-${randomUUID()}`,
      randomUUID(),
      p.freelancerId,
      p.gross ?? '1250.00',
      p.clientName ?? 'Acme Inc',
      p.clientCountry ?? 'US',
      p.description ?? 'Web development, milestone 3',
      p.serviceCategory ?? 'software_development',
    ],
  );
  return row.id;
}
