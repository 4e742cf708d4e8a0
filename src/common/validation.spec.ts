import { ValidationError } from 'class-validator';
import { flattenValidationErrors } from './validation';

function error(property: string, constraints: Record<string, string>, children: ValidationError[] = []) {
  return Object.assign(new ValidationError(), { property, constraints, children });
}

describe(flattenValidationErrors.name, () => {
  it('names nested fields by their path and says each message of a field once', () => {
    const errors = [
      error('asOf', {
        matches: 'asOf must be a date',
        isDate: 'asOf must be a date',
        real: 'asOf is not a real day',
      }),
      error('client', {}, [error('country', { isIn: 'client.country must not be PK' })]),
    ];
    expect(flattenValidationErrors(errors)).toEqual([
      { field: 'asOf', message: 'asOf must be a date' },
      { field: 'asOf', message: 'asOf is not a real day' },
      { field: 'client.country', message: 'client.country must not be PK' },
    ]);
  });
});
