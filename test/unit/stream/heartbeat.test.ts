import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startServer, waitUntil } from './setup.ts';

describe('stream heartbeat', () => {
  it('terminates a client that stops answering pings, and keeps one that answers', async (t) => {
    const h = await startServer(t, { config: { pingIntervalMs: 150 } });
    const dead = await h.connect();
    const live = await h.connect();
    await dead.hello();
    let pings = 0;
    live.ws.on('ping', () => pings++);
    dead.ws.pause(); // reads nothing: no pong goes back
    const line = await h.logs.waitFor(
      (l) => l['msg'] === 'stream client did not answer a ping: terminated',
    );
    assert.equal(line['principal'], 'viewer-1');
    await waitUntil(() => h.server.stats().connections === 1);
    await waitUntil(() => pings >= 3);
    assert.equal(live.ws.readyState, live.ws.OPEN);
    dead.ws.resume();
    assert.equal((await dead.closed).code, 1006, 'terminated, not closed');
  });
});
