import { ApiProperty } from '@nestjs/swagger';
import { IsString } from 'class-validator';
import { NotBlank, Satisfies } from '../../common/validation';

export class CreatePartnerDto {
  @ApiProperty({ example: 'Acme Fintech', maxLength: 200 })
  @IsString()
  // Counted in code points, as the column's CHECK (length(name) <= 200) counts: MaxLength counts a character and its
  // variation selector as one, so 'a\uFE0F' × 101 passed it and failed the CHECK with a 500.
  @Satisfies((text) => [...text].length <= 200, 'name must be at most 200 characters')
  @NotBlank()
  name: string;
}

export class CreatedPartnerDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty({ description: 'Shown once; only its hash is stored.' }) apiKey: string;
  @ApiProperty() apiKeyId: string;
}

export class CreatedApiKeyDto {
  @ApiProperty() apiKeyId: string;
  @ApiProperty({ description: 'Shown once; only its hash is stored.' }) apiKey: string;
}

export class ApiKeyDto {
  @ApiProperty() apiKeyId: string;
  @ApiProperty({
    description: 'The first and last characters of the key, to tell keys apart.',
    example: 'pk_AbCd…wXyZ',
  })
  hint: string;
  @ApiProperty() createdAt: string;
  @ApiProperty({ type: String, nullable: true }) revokedAt: string | null;
}

export class PartnerDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty() createdAt: string;
  @ApiProperty({
    type: [ApiKeyDto],
    description: 'Every key the partner was given, oldest first, revoked ones too.',
  })
  apiKeys: ApiKeyDto[];
}

export class PartnerPageDto {
  @ApiProperty({ type: [PartnerDto] }) data: PartnerDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
