import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { DEFAULT_PREVIOUS_SECRET_SECONDS, MAX_PREVIOUS_SECRET_SECONDS } from '../secret-rotation';

/** The body of a signing secret's rotation, for platform connections and webhook endpoints alike. */
export class RotateSecretDto {
  @ApiPropertyOptional({
    minimum: 0,
    maximum: MAX_PREVIOUS_SECRET_SECONDS,
    default: DEFAULT_PREVIOUS_SECRET_SECONDS,
    description:
      'How long the secret being replaced goes on working, so the other side can move to the new one; 0 stops it at ' +
      'once (a leaked secret).',
  })
  @IsOptional()
  @IsInt({ message: 'previousSecretValidForSeconds must be a whole number of seconds' })
  @Min(0)
  @Max(MAX_PREVIOUS_SECRET_SECONDS)
  previousSecretValidForSeconds?: number;
}
