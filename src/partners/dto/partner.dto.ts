import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';
import { NotBlank } from '../../common/validation';

export class CreatePartnerDto {
  @ApiProperty({ example: 'Acme Fintech' })
  @IsString()
  @Length(1, 200)
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
