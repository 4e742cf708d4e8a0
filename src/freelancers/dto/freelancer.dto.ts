import { ApiProperty, ApiPropertyOptional, PartialType, PickType } from '@nestjs/swagger';
import { IsBoolean, IsEmail, IsIn, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import { PageQuery } from '../../common/pagination';
import { NotBlank, Printable } from '../../common/validation';
import { CNIC_PATTERN, NTN_PATTERN } from '../identifiers';

export class CreateFreelancerDto {
  @ApiProperty({ example: 'fl-42' })
  @IsString()
  @MaxLength(100)
  @Matches(/^[\x21-\x7e]+$/, { message: 'externalRef must be printable ASCII without spaces' })
  externalRef: string;

  @ApiProperty({
    example: 'Ayesha Khan',
    description: 'Printed on invoices: no control characters but tab and line breaks.',
  })
  @IsString()
  @MaxLength(200)
  @NotBlank()
  @Printable()
  name: string;

  @ApiProperty({ example: '35202-1234567-1' })
  @IsString()
  @Matches(CNIC_PATTERN, { message: 'cnic must look like 35202-1234567-1' })
  cnic: string;

  @ApiPropertyOptional({ example: '1234567-8' })
  @IsOptional()
  @IsString()
  @Matches(NTN_PATTERN, { message: 'ntn must look like 1234567-8' })
  ntn?: string;

  @ApiPropertyOptional({ example: 'PSEB-F-12345', description: 'Printed on invoices.' })
  @IsOptional()
  @IsString()
  @MaxLength(50)
  @NotBlank()
  @Printable()
  psebRegistrationNo?: string;

  @ApiPropertyOptional({ example: 'ayesha@example.com' })
  @IsOptional()
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(254)
  email?: string;
}

/**
 * What may change of a freelancer once registered (PATCH, a JSON merge patch: `null` clears an optional field):
 * the printed details and the email. The external reference and the CNIC identify the freelancer and stay as
 * registered. Invoices already issued keep what they printed (they are signed); those issued later print the new
 * details.
 */
export class UpdateFreelancerDto extends PartialType(
  PickType(CreateFreelancerDto, ['name', 'ntn', 'psebRegistrationNo', 'email'] as const),
) {}

export const ACCOUNT_KINDS = ['bank_fcy', 'fintech_usd'] as const;
export type AccountKind = (typeof ACCOUNT_KINDS)[number];

export class CreateAccountDto {
  @ApiProperty({ enum: ACCOUNT_KINDS })
  @IsIn(ACCOUNT_KINDS, { message: `kind must be one of ${ACCOUNT_KINDS.join(', ')}` })
  kind: AccountKind;

  @ApiProperty({ example: 'Meezan Bank' })
  @IsString()
  @MaxLength(120)
  @NotBlank()
  institution: string;

  @ApiProperty({ example: 'PK36SCBL0000001123456702' })
  @IsString()
  @Length(1, 40)
  iban: string;

  @ApiProperty({ example: 'Ayesha Khan' })
  @IsString()
  @MaxLength(200)
  @NotBlank()
  title: string;

  @ApiPropertyOptional({
    description:
      'true makes the new account the default at once (payouts routed from then on go to it); false or absent ' +
      'leaves the current default. A freelancer’s first account is the default either way.',
  })
  @IsOptional()
  @IsBoolean({ message: 'isDefault must be true or false' })
  isDefault?: boolean;
}

export class DollarAccountDto {
  @ApiProperty() id: string;
  @ApiProperty() freelancerId: string;
  @ApiProperty({ enum: ACCOUNT_KINDS }) kind: AccountKind;
  @ApiProperty() institution: string;
  @ApiProperty() iban: string;
  @ApiProperty() title: string;
  @ApiProperty({ example: 'USD' }) currency: string;
  @ApiProperty() isDefault: boolean;
  @ApiProperty() createdAt: string;
}

export class FreelancerDto {
  @ApiProperty() id: string;
  @ApiProperty() externalRef: string;
  @ApiProperty() name: string;
  @ApiProperty() cnic: string;
  @ApiProperty({ type: String, nullable: true }) ntn: string | null;
  @ApiProperty({ type: String, nullable: true }) psebRegistrationNo: string | null;
  @ApiProperty({ type: String, nullable: true }) email: string | null;
  @ApiProperty({ type: [DollarAccountDto] }) accounts: DollarAccountDto[];
  @ApiProperty() createdAt: string;
}

export class FreelancerPageDto {
  @ApiProperty({ type: [FreelancerDto] }) data: FreelancerDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

export class FreelancerQuery extends PageQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(1, 100)
  externalRef?: string;
}

export class BalanceDto {
  @ApiProperty({ example: 'USD' }) currency: string;
  @ApiProperty({ example: '1198.50' }) settled: string;
  @ApiProperty({ example: '0.00' }) inTransit: string;
}
