import { DataSource, QueryRunner } from 'typeorm';
import { loadConfig } from '../config/app-config';
import { dataSourceOptions } from './data-source-options';
import { MAX_PREPARED_PER_CONNECTION, PreparingClient } from './prepared-client';

describe(PreparingClient.name, () => {
  let db: DataSource;
  let runner: QueryRunner;

  beforeAll(async () => {
    db = await new DataSource(dataSourceOptions(loadConfig().databaseUrl)).initialize();
  });

  beforeEach(async () => {
    runner = db.createQueryRunner();
    await runner.connect();
  });

  afterEach(async () => {
    await runner.release();
  });

  afterAll(async () => {
    await db.destroy();
  });

  /** What this connection's session has prepared, by statement text. */
  async function prepared(): Promise<string[]> {
    const rows: { statement: string }[] = await runner.query(`SELECT statement FROM pg_prepared_statements`);
    return rows.map((r) => r.statement);
  }

  it('prepares a parameterized statement once and reuses it on the same connection', async () => {
    const text = `SELECT $1::int + 1 AS n /* prepared-client reuse */`;
    for (let i = 1; i <= 3; i += 1) {
      expect(await runner.query(text, [i])).toEqual([{ n: i + 1 }]);
    }
    expect((await prepared()).filter((s) => s === text)).toHaveLength(1);
  });

  it('keeps statements without parameters unnamed', async () => {
    const text = `SELECT 41 + 1 AS n /* prepared-client unnamed */`;
    expect(await runner.query(text)).toEqual([{ n: 42 }]);
    expect(await runner.query(text, [])).toEqual([{ n: 42 }]);
    expect(await prepared()).not.toContain(text);
  });

  it('leaves the connection usable after a prepared statement fails', async () => {
    const text = `SELECT 1 / $1::int AS n /* prepared-client error */`;
    await expect(runner.query(text, [0])).rejects.toThrow(/division by zero/);
    expect(await runner.query(text, [2])).toEqual([{ n: 0 }]);
    await expect(runner.query(`SELEC $1::int /* prepared-client syntax */`, [1])).rejects.toThrow(/syntax/);
    expect(await runner.query(`SELECT $1::int AS n /* prepared-client after */`, [7])).toEqual([{ n: 7 }]);
  });

  it('runs a statement unnamed once a schema change has changed its result type', async () => {
    const table = `prepared_client_probe_${Date.now()}`;
    await runner.query(`CREATE TABLE ${table} (id int PRIMARY KEY, a text)`);
    try {
      await runner.query(`INSERT INTO ${table} VALUES (1, 'x')`);
      const text = `SELECT * FROM ${table} WHERE id = $1`;
      expect(await runner.query(text, [1])).toEqual([{ id: 1, a: 'x' }]);
      await runner.query(`ALTER TABLE ${table} ADD COLUMN b text DEFAULT 'y'`);

      await expect(runner.query(text, [1])).rejects.toThrow(/cached plan must not change result type/);
      expect(await runner.query(text, [1])).toEqual([{ id: 1, a: 'x', b: 'y' }]);
    } finally {
      await runner.query(`DROP TABLE ${table}`);
    }
  });

  it('runs a statement unnamed once the server has dropped it (DEALLOCATE, DISCARD ALL)', async () => {
    const text = `SELECT $1::int * 2 AS n /* prepared-client deallocated */`;
    expect(await runner.query(text, [2])).toEqual([{ n: 4 }]);
    await runner.query(`DEALLOCATE ALL`);

    await expect(runner.query(text, [3])).rejects.toThrow(/does not exist/);
    expect(await runner.query(text, [3])).toEqual([{ n: 6 }]);
  });

  it('runs a statement unnamed after pg failed to serialize one of its parameters', async () => {
    const text = `SELECT $1::text AS t /* prepared-client unserializable */`;
    expect(await runner.query(text, ['a'])).toEqual([{ t: 'a' }]);
    const unserializable = {
      toPostgres: () => {
        throw new Error('cannot serialize');
      },
    };

    await expect(runner.query(text, [unserializable])).rejects.toThrow('cannot serialize');
    expect(await runner.query(text, ['b'])).toEqual([{ t: 'b' }]);
  });

  it('stops naming new texts past its cap and still runs them', async () => {
    const own = await new DataSource({
      ...dataSourceOptions(loadConfig().databaseUrl),
      extra: { max: 1, Client: PreparingClient },
    }).initialize();
    try {
      const extra = MAX_PREPARED_PER_CONNECTION + 5;
      for (let i = 0; i < extra; i += 1) {
        expect(await own.query(`SELECT $1::int AS n /* prepared-client cap ${i} */`, [i])).toEqual([
          { n: i },
        ]);
      }
      const [{ n }] = await own.query(`SELECT count(*)::int AS n FROM pg_prepared_statements`);
      expect(n).toBe(MAX_PREPARED_PER_CONNECTION);
    } finally {
      await own.destroy();
    }
  });
});
