import { Injectable, PipeTransform } from '@nestjs/common';
import { Problems } from './problem';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Path ids: anything that is not one of our UUIDs simply does not exist (404), as another partner's id. */
@Injectable()
export class IdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!UUID.test(value)) throw Problems.notFound('The resource');
    return value.toLowerCase();
  }
}
