import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { BullBoardModule } from '@bull-board/nestjs';
import { Module } from '@nestjs/common';
import { QUEUE_DISPLAY_NAMES, QUEUES } from '../queues/queues';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/** The queue dashboard; create-app.ts guards its path with the ops credential. */
@Module({
  imports: [
    BullBoardModule.forRoot({ route: QUEUE_DASHBOARD_PATH, adapter: FastifyAdapter }),
    ...Object.values(QUEUES).map((name) =>
      BullBoardModule.forFeature({
        name,
        adapter: BullMQAdapter,
        options: { displayName: QUEUE_DISPLAY_NAMES[name] },
      }),
    ),
  ],
})
export class QueueDashboardModule {}
