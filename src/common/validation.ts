import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { Matches, ValidateBy } from 'class-validator';
import { FieldError, Problems } from './problem';
import { unprintableText, UNPRINTABLE_MESSAGE } from './storable-text';

/** Flattens nested class-validator errors into `{ field: "a.b", message }` pairs. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    // A field that was not sent is missing, whatever else its rules would say of a value it does not have; and
    // two rules may say the same thing of one field (a format and a calendar check, say): it is said once.
    const messages = Object.values(error.constraints ?? {});
    const said =
      error.value === undefined && messages.length ? [`${field} is required`] : [...new Set(messages)];
    const own = said.map((message) => ({ field, message }));
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}

/** At most this many field errors are listed: a body of thousands of bad fields must not answer megabytes. */
export const MAX_FIELD_ERRORS = 50;

/** The validation problem of `errors`, listing the first MAX_FIELD_ERRORS and saying how many there were. */
export function validationProblem(errors: FieldError[]) {
  if (errors.length <= MAX_FIELD_ERRORS) return Problems.validation(errors);
  return Problems.validation(
    errors.slice(0, MAX_FIELD_ERRORS),
    `The request has ${errors.length} field errors; the first ${MAX_FIELD_ERRORS} are listed.`,
  );
}

/**
 * The app's validation: unknown fields refused, values turned into the DTO's types, and a body that is not a
 * JSON object (an array, a string, a number, a boolean) refused as a whole before any field is looked at,
 * instead of an error for each element of a 256 KiB array.
 */
class ApiValidationPipe extends ValidationPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    // null reads as no body, as it always did (a switch that needs none runs, a create names its fields).
    const notAnObject = value !== null && (typeof value !== 'object' || Array.isArray(value));
    if (metadata.type === 'body' && value !== undefined && notAnObject && this.toValidate(metadata)) {
      return Promise.reject(Problems.validation([{ field: 'body', message: 'body must be a JSON object' }]));
    }
    return super.transform(value, metadata);
  }
}

export function createValidationPipe(): ValidationPipe {
  return new ApiValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => validationProblem(flattenValidationErrors(errors)),
  });
}

/** A text that must say something: at least one character that is not white space. */
export function NotBlank(): PropertyDecorator {
  return Matches(/\S/, { message: '$property must not be blank' });
}

/** A text that `accepts` says yes to, with `message` (`$property` names the field) when it says no. */
export function Satisfies(accepts: (text: string) => boolean, message: string): PropertyDecorator {
  return ValidateBy({
    name: 'satisfies',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && accepts(value),
      defaultMessage: () => message,
    },
  });
}

/** Text printed on invoices: no control character but tab and line breaks, and not U+FFFE or U+FFFF. */
export function Printable(): PropertyDecorator {
  return Satisfies((text) => unprintableText(text) === null, `$property ${UNPRINTABLE_MESSAGE}`);
}
