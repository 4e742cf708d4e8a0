import { AddressInfo, createServer, Server, Socket, connect } from 'node:net';

/**
 * A TCP relay in front of the real Redis that can stop relaying, in both directions, without closing anything:
 * to the app it is a Redis that hangs (a stopped process, a network that drops packets), which a refused
 * connection does not show. It can also drop its connections, as a Redis that went away.
 */
export class PausableRedisRelay {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private paused = false;
  private refusing = false;

  private constructor(upstream: URL) {
    this.server = createServer((client) => {
      if (this.refusing) {
        client.destroy();
        return;
      }
      const server = connect(Number(upstream.port || 6379), upstream.hostname);
      for (const socket of [client, server]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
        if (this.paused) socket.pause();
      }
      client.pipe(server);
      server.pipe(client);
      client.on('close', () => server.destroy());
      server.on('close', () => client.destroy());
    });
  }

  static async start(upstreamUrl: string): Promise<PausableRedisRelay> {
    const relay = new PausableRedisRelay(new URL(upstreamUrl));
    await new Promise<void>((resolve) => relay.server.listen(0, '127.0.0.1', resolve));
    return relay;
  }

  get url(): string {
    return `redis://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Stops relaying: commands sent meanwhile get no answer until resume(). */
  pause(): void {
    this.paused = true;
    for (const socket of this.sockets) socket.pause();
  }

  resume(): void {
    this.paused = false;
    for (const socket of this.sockets) socket.resume();
  }

  /** Drops every connection and every new one: a Redis that went away. */
  down(): void {
    this.refusing = true;
    for (const socket of this.sockets) socket.destroy();
  }

  up(): void {
    this.refusing = false;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
