import { ValidationError } from 'class-validator';
import { flattenValidationErrors } from './validation';

function error(
  property: string,
  value: unknown,
  constraints: Record<string, string>,
  children: ValidationError[] = [],
) {
  return Object.assign(new ValidationError(), { property, value, constraints, children });
}

describe(flattenValidationErrors.name, () => {
  it('names nested fields by their path and says each message of a field once', () => {
    const errors = [
      error('asOf', '2026-02-30', {
        matches: 'asOf must be a date',
        isDate: 'asOf must be a date',
        real: 'asOf is not a real day',
      }),
      error('client', {}, {}, [error('country', 'PK', { isIn: 'client.country must not be PK' })]),
    ];
    expect(flattenValidationErrors(errors)).toEqual([
      { field: 'asOf', message: 'asOf must be a date' },
      { field: 'asOf', message: 'asOf is not a real day' },
      { field: 'client.country', message: 'client.country must not be PK' },
    ]);
  });

  it('says a field that was not sent is required, and nothing else of it', () => {
    const missing = error('reference', undefined, {
      isString: 'reference must be a string',
      isLength: 'reference must be longer than or equal to 1 characters',
      notBlank: 'reference must not be blank',
    });
    expect(flattenValidationErrors([missing])).toEqual([
      { field: 'reference', message: 'reference is required' },
    ]);
    const nested = error('client', {}, {}, [
      error('name', undefined, { isString: 'client.name must be a string' }),
    ]);
    expect(flattenValidationErrors([nested])).toEqual([
      { field: 'client.name', message: 'client.name is required' },
    ]);
  });
});
