/** `--name value` options of `npm run bench -- <name> …`. */

/** The value after `--name`, or the fallback when the flag or its value is missing. */
export function textOption(args: string[], name: string, fallback: string): string {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] ? args[at + 1] : fallback;
}

/** The value after `--name`, or undefined when the flag is absent. */
export function optionalTextOption(args: string[], name: string): string | undefined {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
}

/** A positive integer after `--name`, or the fallback when the flag is absent; anything else is refused. */
export function positiveIntegerOption(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(`--${name}`);
  const value = at >= 0 ? Number(args[at + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
  return value;
}
