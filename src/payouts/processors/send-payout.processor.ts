import { Processor } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { QUEUES, SendPayoutJobData, WORKER_OPTIONS } from '../../queues/queues';
import { PayoutPipelineService } from '../payout-pipeline.service';
import { PipelineWorkerHost } from './pipeline-worker-host';

@Processor(QUEUES.sendPayout, WORKER_OPTIONS)
export class SendPayoutProcessor extends PipelineWorkerHost {
  constructor(private readonly pipeline: PayoutPipelineService) {
    super();
  }

  run(job: Job<SendPayoutJobData>): Promise<void> {
    return this.pipeline.send(job.data.payoutId, job.data.attemptId, this.isFinalTry(job));
  }
}
