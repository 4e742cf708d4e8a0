/**
 * `npm run bench -- <name>…` runs bench/<name>.bench.ts (each exports `run(args)`); no name runs them all.
 * Every benchmark prints its own figures beside the baseline it is compared with.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

interface Benchmark {
  run(args: string[]): Promise<void>;
}

async function main(): Promise<void> {
  const [first, ...rest] = process.argv.slice(2);
  const available = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.js'))
    .map((f) => f.replace(/\.bench\.js$/, ''))
    .sort();
  const names = first ? [first] : available;
  for (const name of names) {
    if (!available.includes(name))
      throw new Error(`No benchmark "${name}"; choose one of: ${available.join(', ')}`);
    process.stdout.write(`\n=== ${name} ===\n`);
    const bench = (await import(join(__dirname, `${name}.bench.js`))) as Benchmark;
    await bench.run(rest);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
