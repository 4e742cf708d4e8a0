/** The built app (dist/src/main.js) and baseline servers run as child processes of a benchmark. */
import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** The project root: this file runs as dist/bench/support/child-app.js. */
export const ROOT = join(__dirname, '..', '..', '..');
export const APP_MAIN = join(ROOT, 'dist', 'src', 'main.js');
export const OPS_TOKEN = 'bench-ops-token-0123456789';

/**
 * A port free on every address, below Linux's ephemeral range (32768 and up): a port the kernel hands out for
 * listening there may be taken as the local end of an outgoing connection (to Postgres, to Redis) before the child
 * process binds it.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const server = createServer();
    server.listen(port, '0.0.0.0');
    const outcome = await Promise.race([
      once(server, 'listening').then(() => 'free' as const),
      once(server, 'error').then(() => 'taken' as const),
    ]);
    if (outcome === 'taken') continue;
    server.close();
    await once(server, 'close');
    return port;
  }
}

/** `node <args>` from the project root with `env` over this process's environment; stderr shows through. */
export function startChild(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/** Polls `url` until it answers 2xx; fails early when the child exits. */
export async function waitUntilUp(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the server exited with code ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not come up within ${timeoutMs} ms`);
}

/** POSTs JSON with a bearer token; answers the parsed body, throws unless the status is `expected` (any 2xx if not given). */
export async function postJson<T = Record<string, string>>(
  baseUrl: string,
  path: string,
  body: unknown,
  bearer: string,
  expected?: number,
): Promise<T> {
  const res = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body: JSON.stringify(body),
  });
  if (expected === undefined ? !res.ok : res.status !== expected)
    throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/** A partner created through the ops API of an app started with OPS_TOKEN. */
export function createPartner(baseUrl: string, name: string): Promise<{ id: string; apiKey: string }> {
  return postJson(baseUrl, '/v1/ops/partners', { name }, OPS_TOKEN);
}
