import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { NotBlank } from '../../common/validation';

export class CreatePartnerDto {
  @ApiProperty({ example: 'Acme Fintech' })
  @IsString()
  @MaxLength(200)
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
