import { createSocket, type Socket } from 'node:dgram';
import { pbkdf2 } from 'node:crypto';
import { promisify } from 'node:util';
import { dnsResolver } from './host-resolver';

/**
 * A name server on 127.0.0.1 that answers `records` (A and AAAA by name) and leaves every other question, or
 * every question at all when `silent` (or every AAAA question, when it is 'aaaa'), unanswered.
 */
async function nameServer(
  records: Record<string, { a?: string[]; aaaa?: string[] }>,
  silent: boolean | 'aaaa' = false,
): Promise<{ socket: Socket; address: string }> {
  const socket = createSocket('udp4');
  socket.on('message', (query, peer) => {
    if (silent === true) return;
    let offset = 12;
    const labels: string[] = [];
    while (query[offset] !== 0) {
      labels.push(query.subarray(offset + 1, offset + 1 + query[offset]).toString('ascii'));
      offset += query[offset] + 1;
    }
    const question = query.subarray(12, offset + 5);
    const type = query.readUInt16BE(offset + 1);
    if (silent === 'aaaa' && type === 28) return;
    const found = records[labels.join('.').toLowerCase()];
    const addresses = (type === 1 ? found?.a : type === 28 ? found?.aaaa : undefined) ?? [];
    const answers = addresses.map((address) => {
      const data =
        type === 1
          ? Buffer.from(address.split('.').map(Number))
          : Buffer.from(address.split(':').flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 255]));
      const head = Buffer.alloc(12);
      head.writeUInt16BE(0xc00c, 0);
      head.writeUInt16BE(type, 2);
      head.writeUInt16BE(1, 4);
      head.writeUInt32BE(60, 6);
      head.writeUInt16BE(data.length, 10);
      return Buffer.concat([head, data]);
    });
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2);
    header.writeUInt16BE(found ? 0x8180 : 0x8183, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    socket.send(Buffer.concat([header, question, ...answers]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, address: `127.0.0.1:${socket.address().port}` };
}

describe(dnsResolver.name, () => {
  const servers: Socket[] = [];
  const serve = async (...args: Parameters<typeof nameServer>) => {
    const server = await nameServer(...args);
    servers.push(server.socket);
    return server.address;
  };

  afterAll(() => servers.forEach((socket) => socket.close()));

  it('answers both families of addresses the name server gives', async () => {
    const server = await serve({
      'hooks.example.com': { a: ['93.184.216.34'], aaaa: ['2606:2800:220:1:0:0:0:1'] },
    });
    const found = await dnsResolver(2_000, [server])('HOOKS.example.com.');
    expect(found).toEqual([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1::1', family: 6 },
    ]);
    await expect(dnsResolver(2_000, [server])('nowhere.example.com')).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
  });

  it('answers the IPv4 addresses when the name server drops every AAAA question', async () => {
    const server = await serve({ 'hooks.example.com': { a: ['93.184.216.34'] } }, 'aaaa');
    // The dropped question times out after a minute, far past this test's own limit: the answer must not wait
    // for it.
    expect(await dnsResolver(60_000, [server])('hooks.example.com')).toEqual([
      { address: '93.184.216.34', family: 4 },
    ]);
  }, 10_000);

  it('answers localhost and its subdomains with the loopback addresses, asking no name server', async () => {
    const server = await serve({}, true);
    for (const name of ['localhost', 'api.localhost', 'LOCALHOST.']) {
      expect(await dnsResolver(50, [server])(name)).toEqual([
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ]);
    }
  });

  it('gives up on a name server that never answers, without holding the thread pool meanwhile', async () => {
    const server = await serve({}, true);
    const resolve = dnsResolver(1_500, [server]);
    const settled: string[] = [];
    // More lookups than libuv's thread pool has threads (4): getaddrinfo would take them all.
    const lookups = Array.from({ length: 8 }, (_, i) =>
      resolve(`slow-${i}.example.com`).then(
        () => settled.push('lookup answered'),
        () => settled.push('lookup failed'),
      ),
    );
    await promisify(pbkdf2)('secret', 'salt', 1, 32, 'sha256');
    settled.push('thread pool work done');
    await Promise.all(lookups);
    expect(settled).toEqual(['thread pool work done', ...Array(8).fill('lookup failed')]);
  });
});
