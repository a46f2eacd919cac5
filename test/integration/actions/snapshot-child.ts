// Child process of recovery-kill.test.ts: runs one action through an executor and is then
// killed with SIGKILL by the parent at some point of it. argv: stateDir, request JSON.
import { ActionExecutor } from '../../../agent/actions/index.ts';
import type { ActionRequest } from '../../../agent/actions/index.ts';
import { LibvirtClient } from '../../../agent/libvirt/index.ts';
import { requireTestbed } from '../../helpers/testbed.ts';
import { memoryLogger } from './bed.ts';

const [stateDir, json] = process.argv.slice(2);
if (stateDir === undefined || json === undefined)
  throw new Error('usage: snapshot-child STATE_DIR REQUEST_JSON');
const client = await LibvirtClient.connect({ uri: requireTestbed().connect });
const ex = new ActionExecutor({
  client: () => client,
  stateDir,
  log: memoryLogger(),
  actionTimeoutMs: 60_000,
});
process.stdout.write('ready\n');
const r = await ex.run(JSON.parse(json) as ActionRequest);
process.stdout.write(`${JSON.stringify(r)}\n`);
await client.close();
