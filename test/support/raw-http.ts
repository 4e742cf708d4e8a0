import { connect } from 'node:net';

/**
 * Writes `raw` byte for byte on a connection of its own to the app listening on `port` (127.0.0.1), and reads
 * until the server closes it (the client gives up after 5 s): what node's HTTP client would not send, or would
 * not show as sent.
 */
export async function rawExchange(port: number, raw: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const timer = setTimeout(() => socket.destroy(), 5000);
  socket.write(raw);
  await closed;
  clearTimeout(timer);
  return answer;
}
