import { ApiProperty } from '@nestjs/swagger';
import { IsISO8601, IsString, Matches } from 'class-validator';

export class PutFxRateDto {
  @ApiProperty({
    example: '278.45',
    description: 'PKR per USD: a positive decimal string, up to six decimals.',
  })
  @IsString({ message: 'rate must be a decimal string such as "278.45"' })
  @Matches(/^(?!0+(\.0+)?$)(0|[1-9]\d{0,13})(\.\d{1,6})?$/, {
    message: 'rate must be a positive decimal string with at most six fraction digits',
  })
  rate: string;

  @ApiProperty({ example: '2026-11-21', description: 'The day the rate is in force (YYYY-MM-DD).' })
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
