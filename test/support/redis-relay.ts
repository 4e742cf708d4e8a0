import { AddressInfo, createServer, Server, Socket, connect } from 'node:net';

/**
 * A TCP relay in front of the real Redis that can stop relaying, in both directions, without closing anything:
 * to the app it is a Redis that hangs (a stopped process, a network that drops packets), which a refused
 * connection does not show. It can also drop its connections, as a Redis that went away.
 */
export class PausableRedisRelay {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** What arrived while paused, in arrival order, to be passed on at resume(). */
  private held: Array<() => void> = [];
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
      }
      // Bytes are held back by the relay itself, not by pausing the sockets: a paused socket that is piped
      // resumes when its destination drains, and a Redis meant to hang would then answer.
      this.forward(client, server);
      this.forward(server, client);
      client.on('close', () => server.destroy());
      server.on('close', () => client.destroy());
    });
  }

  private forward(from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      const pass = () => {
        if (!to.destroyed) to.write(chunk);
      };
      if (this.paused) this.held.push(pass);
      else pass();
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
  }

  resume(): void {
    this.paused = false;
    const held = this.held;
    this.held = [];
    for (const pass of held) pass();
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
