import { Processor } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { QUEUES, RoutePayoutJobData, WORKER_OPTIONS } from '../../queues/queues';
import { PayoutPipelineService } from '../payout-pipeline.service';
import { PipelineWorkerHost } from './pipeline-worker-host';

@Processor(QUEUES.routePayout, WORKER_OPTIONS)
export class RoutePayoutProcessor extends PipelineWorkerHost {
  constructor(private readonly pipeline: PayoutPipelineService) {
    super();
  }

  run(job: Job<RoutePayoutJobData>): Promise<void> {
    return this.pipeline.route(job.data.payoutId);
  }
}
