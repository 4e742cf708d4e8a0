import { Processor } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { QUEUES, SettlePayoutJobData, WORKER_OPTIONS } from '../../queues/queues';
import { PayoutPipelineService } from '../payout-pipeline.service';
import { PipelineWorkerHost } from './pipeline-worker-host';

@Processor(QUEUES.settlePayout, WORKER_OPTIONS)
export class SettlePayoutProcessor extends PipelineWorkerHost {
  constructor(private readonly pipeline: PayoutPipelineService) {
    super();
  }

  run(job: Job<SettlePayoutJobData>): Promise<void> {
    return this.pipeline.settle(job.data, { finalTry: this.isFinalTry(job) });
  }
}
