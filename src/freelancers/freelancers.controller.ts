import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { IdPipe } from '../common/id.pipe';
import { ApiTags } from '@nestjs/swagger';
import { PartnerApi } from '../partners/partner-api.decorator';
import { HeldIdempotencyKey } from '../partners/idempotency.interceptor';
import { IdempotencyHold } from '../partners/idempotency.service';
import { PartnerId } from '../partners/partner.guard';
import {
  CreateAccountDto,
  CreateFreelancerDto,
  DollarAccountDto,
  FreelancerDto,
  FreelancerPageDto,
  FreelancerQuery,
  UpdateFreelancerDto,
} from './dto/freelancer.dto';
import { FreelancersService } from './freelancers.service';

@ApiTags('freelancers')
@PartnerApi()
@Controller('v1/freelancers')
export class FreelancersController {
  constructor(private readonly freelancers: FreelancersService) {}

  @Post()
  create(
    @PartnerId() partnerId: string,
    @Body() dto: CreateFreelancerDto,
    @HeldIdempotencyKey() hold: IdempotencyHold | null,
  ): Promise<FreelancerDto> {
    return this.freelancers.create(partnerId, dto, hold);
  }

  @Get()
  list(@PartnerId() partnerId: string, @Query() query: FreelancerQuery): Promise<FreelancerPageDto> {
    return this.freelancers.list(partnerId, query);
  }

  @Get(':id')
  get(@PartnerId() partnerId: string, @Param('id', IdPipe) id: string): Promise<FreelancerDto> {
    return this.freelancers.get(partnerId, id);
  }

  /** Changes the freelancer's printed details or email; the fields not named stay as they are. */
  @Patch(':id')
  update(
    @PartnerId() partnerId: string,
    @Param('id', IdPipe) id: string,
    @Body() dto: UpdateFreelancerDto,
  ): Promise<FreelancerDto> {
    return this.freelancers.update(partnerId, id, dto);
  }

  @Post(':id/accounts')
  addAccount(
    @PartnerId() partnerId: string,
    @Param('id', IdPipe) id: string,
    @Body() dto: CreateAccountDto,
    @HeldIdempotencyKey() hold: IdempotencyHold | null,
  ): Promise<DollarAccountDto> {
    return this.freelancers.addAccount(partnerId, id, dto, hold);
  }

  /** Makes the account the freelancer's default: payouts routed from now on go to it. */
  @Post(':id/accounts/:accountId/default')
  @HttpCode(200)
  makeDefault(
    @PartnerId() partnerId: string,
    @Param('id', IdPipe) id: string,
    @Param('accountId', IdPipe) accountId: string,
    @HeldIdempotencyKey() hold: IdempotencyHold | null,
  ): Promise<DollarAccountDto> {
    return this.freelancers.makeDefault(partnerId, id, accountId, hold);
  }

  /** Closes an account the freelancer no longer has: it leaves the accounts; payouts never go to it again. */
  @Delete(':id/accounts/:accountId')
  @HttpCode(204)
  closeAccount(
    @PartnerId() partnerId: string,
    @Param('id', IdPipe) id: string,
    @Param('accountId', IdPipe) accountId: string,
  ): Promise<void> {
    return this.freelancers.closeAccount(partnerId, id, accountId);
  }
}
