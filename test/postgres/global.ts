/**
 * Mocha global setup of the PostgreSQL run (.mocharc.postgres.json): one cluster for the whole
 * run, its URL in WISEJSON_TEST_PG_URL for the test servers (see ./cluster.ts), removed at the end.
 */
import { PostgresCluster } from './cluster';

let cluster: PostgresCluster | null = null;

export async function mochaGlobalSetup(): Promise<void> {
  process.env.WISEJSON_TEST_STORE = 'postgres';
  cluster = await PostgresCluster.start();
  process.env.WISEJSON_TEST_PG_URL = cluster.url();
  console.log(`  PostgreSQL for this run: 127.0.0.1:${cluster.port} (${cluster.bin}, data in ${cluster.dir})`);
}

export async function mochaGlobalTeardown(): Promise<void> {
  cluster?.stop();
  cluster = null;
}
