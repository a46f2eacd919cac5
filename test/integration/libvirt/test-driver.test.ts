/**
 * The client against the real libvirtd, opening libvirt's test driver through the daemon
 * (`test:///PATH.xml`: each test gets its own node file, so its own private driver state).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  LibvirtClient,
  LibvirtRemoteError,
  MetadataType,
  ModificationImpact,
  StatsTypes,
  VirErrorCode,
} from '../../../agent/libvirt/index.ts';
import type { DomainEvent, EventGap, EventSubscription } from '../../../agent/libvirt/index.ts';
import { makeNodeDomains, writeNodeFile } from '../../helpers/test-driver-node.ts';

type Item = DomainEvent | EventGap;

/** Collects events from a subscription in the background. */
function collect(sub: EventSubscription): {
  items: Item[];
  waitFor: (n: number, ms?: number) => Promise<Item[]>;
} {
  const items: Item[] = [];
  const waker: { wake: (() => void) | null } = { wake: null };
  void (async () => {
    for await (const e of sub) {
      items.push(e);
      waker.wake?.();
    }
  })();
  return {
    items,
    async waitFor(n, ms = 5000) {
      const deadline = Date.now() + ms;
      while (items.length < n) {
        if (Date.now() > deadline)
          throw new Error(
            `expected ${n} events, got ${items.length}: ${JSON.stringify(items.map(lc))}`,
          );
        await new Promise<void>((r) => {
          waker.wake = r;
          setTimeout(r, 50);
        });
      }
      return items;
    },
  };
}

const lc = (e: Item): string => (e.event === 'lifecycle' ? `${e.type}/${e.detail}` : e.event);

describe('libvirt client on the test driver through the real daemon', () => {
  let client: LibvirtClient;
  let cleanup: () => Promise<void>;
  const domains = makeNodeDomains(5);

  before(async () => {
    const node = await writeNodeFile(domains);
    cleanup = node.cleanup;
    client = await LibvirtClient.connect({ uri: node.uri });
  });
  after(async () => {
    await client.close();
    await cleanup();
  });

  it('completes the handshake and reports the daemon and driver', async () => {
    assert.equal(client.info.authTypes[0], 0);
    assert.ok(client.info.libVersion >= 9_000_000, `libVersion ${client.info.libVersion}`);
    assert.equal(await client.getType(), 'TEST');
    assert.match(await client.getUri(), /^test:\/\/\/.*node\.xml$/);
    const node = await client.getNodeInfo();
    assert.equal(node.model, 'virt-ft-test');
    assert.equal(node.cpus, 4);
    assert.equal(node.mhz, 2000);
  });

  it('lists and looks up domains; absence is null, not an error', async () => {
    const list = await client.listAllDomains();
    assert.deepEqual(
      list.map((d) => d.name).sort(),
      domains.map((d) => d.name),
    );
    const d = await client.lookupDomainByName('d0002');
    assert.equal(d?.uuid, domains[2]?.uuid);
    assert.equal((await client.lookupDomainByUuid(domains[2]!.uuid))?.name, 'd0002');
    assert.equal(await client.lookupDomainByName('no-such-domain'), null);
    assert.equal(await client.lookupDomainByUuid('00000000-0000-0000-0000-00000000dead'), null);
  });

  it('reads state, info, XML and bulk stats with typed parameters', async () => {
    const d = (await client.lookupDomainByName('d0003'))!;
    const st = await client.domainGetState(d);
    assert.equal(st.stateName, 'Paused');
    const info = await client.domainGetInfo(d);
    assert.equal(info.nrVirtCpu, 4);
    assert.equal(info.memoryKiB, 512n * 1024n);
    assert.match(await client.domainGetXmlDesc(d), /<name>d0003<\/name>/);
    const stats = await client.getAllDomainStats({ stats: StatsTypes.STATE });
    assert.equal(stats.length, 5);
    const rec = stats.find((r) => r.domain.name === 'd0003');
    assert.equal(rec?.params['state.state'], 3);
  });

  it('turns a libvirt error into a typed error with code, domain and message', async () => {
    const d = (await client.lookupDomainByName('d0004'))!; // shut off
    await assert.rejects(client.domainSuspend(d), (err: unknown) => {
      assert.ok(err instanceof LibvirtRemoteError);
      // The test driver says INTERNAL_ERROR in its own error domain (12); QEMU says 55 in 10.
      assert.equal(err.virCode, VirErrorCode.INTERNAL_ERROR);
      assert.equal(err.virDomain, 12);
      assert.equal(err.virCodeName, 'VIR_ERR_INTERNAL_ERROR');
      assert.match(err.message, /DOMAIN_SUSPEND failed: .*not running/);
      return true;
    });
  });

  it('runs every lifecycle action and delivers the events they cause, by name', async () => {
    const d = (await client.lookupDomainByName('d0000'))!;
    const sub = await client.subscribe({ domain: d });
    const c = collect(sub);
    await client.domainSuspend(d);
    await client.domainResume(d);
    await client.domainShutdown(d);
    await client.domainCreate(d);
    await client.domainDestroy(d);
    await client.domainCreate(d);
    await client.domainReboot(d);
    await client.domainReset(d);
    await c.waitFor(6);
    assert.deepEqual(c.items.slice(0, 6).map(lc), [
      'Suspended/Paused',
      'Resumed/Unpaused',
      'Stopped/Shutdown',
      'Started/Booted',
      'Stopped/Destroyed',
      'Started/Booted',
    ]);
    for (const e of c.items) if (e.event !== 'gap') assert.equal(e.domain.uuid, d.uuid);
    assert.equal((await client.domainGetState(d)).stateName, 'Running');
    await sub.close();
  });

  it('creates, lists, looks up, reverts and deletes snapshots', async () => {
    const d = (await client.lookupDomainByName('d0001'))!;
    assert.equal(await client.snapshotCurrent(d), null);
    const s1 = await client.snapshotCreateXml(
      d,
      '<domainsnapshot><name>s1</name><description>first</description></domainsnapshot>',
    );
    assert.equal(s1.name, 's1');
    const s2 = await client.snapshotCreateXml(
      d,
      '<domainsnapshot><name>s2</name></domainsnapshot>',
    );
    assert.deepEqual((await client.listAllSnapshots(d)).map((s) => s.name).sort(), ['s1', 's2']);
    assert.equal((await client.snapshotCurrent(d))?.name, 's2');
    assert.equal((await client.snapshotGetParent(s2))?.name, 's1');
    assert.equal(await client.snapshotGetParent(s1), null);
    assert.match(await client.snapshotGetXmlDesc(s1), /<description>first<\/description>/);
    assert.equal(await client.snapshotLookupByName(d, 'nope'), null);
    const sub = await client.subscribe({ domain: d });
    const c = collect(sub);
    await client.revertToSnapshot(s1);
    await c.waitFor(2);
    assert.deepEqual(c.items.slice(0, 2).map(lc), ['Stopped/FromSnapshot', 'Started/FromSnapshot']);
    await client.snapshotDelete(s2);
    await client.snapshotDelete(s1);
    assert.deepEqual(await client.listAllSnapshots(d), []);
    await sub.close();
  });

  it('managed save, then start restores the saved domain', async () => {
    const d = (await client.lookupDomainByName('d0002'))!;
    await client.domainManagedSave(d);
    assert.equal(await client.domainHasManagedSaveImage(d), true);
    assert.equal((await client.domainGetState(d)).reasonName, 'Saved');
    await client.domainCreate(d);
    assert.equal((await client.domainGetState(d)).stateName, 'Running');
    assert.equal(await client.domainHasManagedSaveImage(d), false);
  });

  it('sets, reads and removes metadata, with the METADATA_CHANGE event', async () => {
    const d = (await client.lookupDomainByName('d0001'))!;
    const ns = 'https://virt-ft.dev/xmlns/policy/1';
    assert.equal(await client.domainGetMetadata(d, MetadataType.ELEMENT, ns), null);
    const sub = await client.subscribe({ domain: d, events: ['metadata-change'] });
    const c = collect(sub);
    await client.domainSetMetadata(d, {
      type: MetadataType.ELEMENT,
      metadata: '<policy level="high"/>',
      key: 'vft',
      uri: ns,
      flags: ModificationImpact.LIVE,
    });
    assert.match(
      (await client.domainGetMetadata(d, MetadataType.ELEMENT, ns, ModificationImpact.LIVE)) ?? '',
      /level="high"/,
    );
    await c.waitFor(1);
    const e = c.items[0];
    assert.equal(e?.event, 'metadata-change');
    assert.equal(e?.event === 'metadata-change' ? e.nsUri : null, ns);
    await client.domainSetMetadata(d, {
      type: MetadataType.ELEMENT,
      metadata: null,
      key: 'vft',
      uri: ns,
      flags: ModificationImpact.LIVE,
    });
    assert.equal(
      await client.domainGetMetadata(d, MetadataType.ELEMENT, ns, ModificationImpact.LIVE),
      null,
    );
    await sub.close();
  });

  it('deregisters: no events reach a closed subscription', async () => {
    const d = (await client.lookupDomainByName('d0000'))!;
    const sub = await client.subscribe({ domain: d, events: ['lifecycle'] });
    await sub.close();
    const other = await client.subscribe({ domain: d, events: ['lifecycle'] });
    const c = collect(other);
    await client.domainSuspend(d);
    await client.domainResume(d);
    await c.waitFor(2);
    assert.equal(sub.dropped, 0);
    const before = client.connection.ignoredMessages;
    assert.equal(before, 0);
    await other.close();
  });
});

describe('closing', () => {
  it('close() says goodbye, resolves closed with reason client, and rejects later calls', async () => {
    const node = await writeNodeFile(makeNodeDomains(1));
    const client = await LibvirtClient.connect({ uri: node.uri });
    await client.close();
    assert.deepEqual(await client.closed, {
      reason: 'client',
      error: null,
      message: 'closed by the client',
    });
    await assert.rejects(client.getHostname(), { code: 'VFT_ERR_LIBVIRT_CLOSED' });
    await node.cleanup();
  });
});
