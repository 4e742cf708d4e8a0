import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { PLATFORMS, Platform } from '../platforms';
import { SIGNATURE_SCHEMES, SignatureScheme } from '../signatures/signature-schemes';

export class CreatePlatformConnectionDto {
  @ApiProperty({ enum: PLATFORMS, example: 'upwork' })
  @IsIn(PLATFORMS, { message: `platform must be one of ${PLATFORMS.join(', ')}` })
  platform: Platform;

  @ApiPropertyOptional({
    enum: SIGNATURE_SCHEMES,
    description: 'Defaults to stripe for the stripe platform and standard-webhooks for every other.',
  })
  @IsOptional()
  @IsIn(SIGNATURE_SCHEMES, { message: `scheme must be one of ${SIGNATURE_SCHEMES.join(', ')}` })
  scheme?: SignatureScheme;
}

export class CreatedPlatformConnectionDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: PLATFORMS }) platform: Platform;
  @ApiProperty({ enum: SIGNATURE_SCHEMES }) scheme: SignatureScheme;
  @ApiProperty({ example: '/v1/webhooks/7d3f…' }) webhookUrl: string;
  @ApiProperty({ description: 'Shown once: whsec_ + base64 of 32 random bytes.' }) signingSecret: string;
}

export class PlatformConnectionDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: PLATFORMS }) platform: Platform;
  @ApiProperty({ enum: SIGNATURE_SCHEMES }) scheme: SignatureScheme;
  @ApiProperty({ example: '/v1/webhooks/7d3f…' }) webhookUrl: string;
  @ApiProperty() createdAt: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Until when a secret a rotation replaced still verifies; null when none does.',
  })
  previousSecretExpiresAt: string | null;
}

export class RotatedSigningSecretDto extends CreatedPlatformConnectionDto {
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Until when the replaced secret still verifies; null when it stopped at once.',
  })
  previousSecretExpiresAt: string | null;
}

export class PlatformConnectionPageDto {
  @ApiProperty({ type: [PlatformConnectionDto] }) data: PlatformConnectionDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
