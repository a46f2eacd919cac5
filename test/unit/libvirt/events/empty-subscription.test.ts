import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LibvirtClient } from '../../../../agent/libvirt/index.ts';
import { FakeLibvirtd } from '../../../helpers/fake-libvirtd.ts';

describe('a subscription with no events', () => {
  it(
    'ends when the connection ends (a session without events must not hang on close)',
    { timeout: 5_000 },
    async (t) => {
      const peer = await FakeLibvirtd.start(t);
      const client = await LibvirtClient.connect({
        socketPath: peer.socketPath,
        uri: 'test:///default',
      });
      const sub = await client.subscribe({ events: [] });
      const drained = (async () => {
        const items: unknown[] = [];
        for await (const item of sub) items.push(item);
        return items.length;
      })();
      client.connection.destroy();
      assert.equal(await drained, 0);
      assert.equal(sub.ended, true);
    },
  );
});
