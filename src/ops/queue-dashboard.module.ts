import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { BullBoardModule } from '@bull-board/nestjs';
import { Module } from '@nestjs/common';
import { QUEUE_DISPLAY_NAMES, QUEUES } from '../queues/queues';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/**
 * The queue dashboard, for watching the queues; create-app.ts guards its path with the ops credential. Read-only:
 * a job added, removed or retried by hand would bypass what the pipeline records in Postgres. Payouts are retried
 * with `POST /v1/ops/payouts/{id}/retry`, partner webhooks with `…/deliveries/{deliveryId}/redeliver`, and a
 * provider is stopped by disabling it.
 */
@Module({
  imports: [
    BullBoardModule.forRoot({ route: QUEUE_DASHBOARD_PATH, adapter: FastifyAdapter }),
    ...Object.values(QUEUES).map((name) =>
      BullBoardModule.forFeature({
        name,
        adapter: BullMQAdapter,
        options: { displayName: QUEUE_DISPLAY_NAMES[name], readOnlyMode: true },
      }),
    ),
  ],
})
export class QueueDashboardModule {}

export const DASHBOARD_READ_ONLY =
  'The queue dashboard only shows the queues: retry a payout with POST /v1/ops/payouts/{id}/retry, and have a ' +
  'partner redeliver a webhook with POST /v1/webhook-endpoints/{id}/deliveries/{deliveryId}/redeliver.';

/** The dashboard's API names its errors by translation key; what each means to whoever called it. */
const DASHBOARD_ERRORS: Record<string, string> = {
  'ERRORS.QUEUE_NOT_FOUND': 'The queue dashboard has no queue of that name.',
  'ERRORS.QUEUE_READ_ONLY': DASHBOARD_READ_ONLY,
  'ERRORS.INTERNAL_SERVER_ERROR': 'The queue dashboard could not answer.',
};

/**
 * What an error answer of the dashboard's own API says, from its body (`{ "error": { "key" }, … }`, with the
 * stack trace in development), for a problem document in its place.
 */
export function dashboardErrorDetail(body: string): string {
  let key: unknown;
  try {
    key = (JSON.parse(body) as { error?: { key?: unknown } }).error?.key;
  } catch {
    key = undefined;
  }
  if (typeof key !== 'string') return 'The queue dashboard refused the request.';
  return DASHBOARD_ERRORS[key] ?? `The queue dashboard refused the request (${key}).`;
}
