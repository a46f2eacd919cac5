/**
 * The real-agent part of the fan-in bench: a transient test guest (`vft-test-bench-…`) started
 * and destroyed a few times on the test bed while the coordinator follows the real agent, so
 * its lifecycle events go agent → coordinator. The guest is always destroyed at the end.
 */
import { randomUUID } from 'node:crypto';
import { LibvirtClient } from '../agent/libvirt/index.ts';
import type { AgentProcess } from '../test/helpers/agent-process.ts';
import { requireTestbed } from '../test/helpers/testbed.ts';
import type { GuestOptions } from '../test/helpers/testbed.ts';

/** Starts and destroys a transient guest `cycles` times within about `seconds`. */
export async function runRealAgent(
  agent: AgentProcess,
  domainXml: (o: GuestOptions) => string,
  seconds: number,
): Promise<{ cycles: number; agent: string }> {
  const client = await LibvirtClient.connect({ uri: requireTestbed().connect });
  const name = `vft-test-bench-${randomUUID().slice(0, 8)}`;
  const cycles = Math.max(1, Math.min(5, Math.floor(seconds / 10)));
  try {
    for (let i = 0; i < cycles; i++) {
      const dom = await client.domainCreateXml(domainXml({ name }));
      await new Promise((r) => setTimeout(r, 3_000));
      await client.domainDestroy(dom);
      await new Promise((r) => setTimeout(r, 2_000));
    }
  } finally {
    const left = await client.lookupDomainByName(name).catch(() => null);
    if (left) await client.domainDestroy(left).catch(() => undefined);
    await client.close();
  }
  return { cycles, agent: agent.agentId };
}
