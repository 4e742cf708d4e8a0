import { ApiProperty } from '@nestjs/swagger';
import { IsISO8601, IsString, Matches } from 'class-validator';

export class PutFxRateDto {
  @ApiProperty({
    example: '278.45',
    description: 'PKR per USD: a decimal string from 1 to 9999.999999, up to six decimals.',
  })
  @IsString({ message: 'rate must be a decimal string such as "278.45"' })
  // PKR per USD has four digits at most before the point: a rate outside is a slipped decimal point.
  @Matches(/^[1-9]\d{0,3}(\.\d{1,6})?$/, {
    message: 'rate must be a decimal string from 1 to 9999.999999 with at most six fraction digits',
  })
  rate: string;

  @ApiProperty({
    example: '2026-11-21',
    description: 'The day the rate is in force (YYYY-MM-DD): not after today in Pakistan.',
  })
  @IsString({ message: 'asOf must be a date such as "2026-11-21"' })
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'asOf must be a date such as "2026-11-21"' })
  @IsISO8601({ strict: true }, { message: 'asOf must be a real calendar date' })
  asOf: string;
}

export class FxRateDto {
  @ApiProperty({ example: 'USD-PKR' }) pair: string;
  @ApiProperty({ example: '278.45' }) rate: string;
  @ApiProperty({ example: '2026-11-21' }) asOf: string;
}
