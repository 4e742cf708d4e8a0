import { ValidationError, ValidationPipe } from '@nestjs/common';
import { Matches, ValidateBy } from 'class-validator';
import { FieldError, Problems } from './problem';
import { unprintableText, UNPRINTABLE_MESSAGE } from './storable-text';

/** Flattens nested class-validator errors into `{ field: "a.b", message }` pairs. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}

export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => Problems.validation(flattenValidationErrors(errors)),
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
