import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { BlockTopology, blockNamesForSmartDevice } from '../../../agent/health/block-topology.ts';
import { blockName, mapVmDisks } from '../../../agent/health/disk-map.ts';
import { domainDisks } from '../../../agent/health/domain-disks.ts';
import { mountFor, parseMountinfo } from '../../../agent/health/mountinfo.ts';

const CASE = fileURLToPath(
  new URL('../../../../test/fixtures/sys/diskmap-lvm-md/', import.meta.url),
);
const SYS = `${CASE}sysfs`;
const PROC = `${CASE}proc`;

const domain = (name: string, disks: string): { name: string; uuid: string; xml: string } => ({
  name,
  uuid: `uuid-${name}`,
  xml: `<domain type='kvm'><name>${name}</name><devices>${disks}</devices></domain>`,
});

const DOMAINS = [
  domain(
    'web-1',
    `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
       <source file='/var/lib/libvirt/images/web-1.qcow2'/>
       <backingStore type='file'><format type='qcow2'/><source file='/srv/fast images/base.qcow2'/><backingStore/></backingStore>
       <target dev='vda' bus='virtio'/></disk>
     <disk type='file' device='cdrom'><target dev='sda' bus='sata'/><readonly/></disk>`,
  ),
  domain(
    'db-1',
    `<disk type='block' device='disk'><source dev='/dev/vg0/vm-db-disk'/><target dev='vda'/></disk>
     <disk type='block' device='disk'><source dev='/dev/mapper/vg0-vm--db--disk'/><target dev='vdb'/></disk>
     <disk type='file' device='disk'><source file='/var/lib/btrfs/db-logs.img'/><target dev='vdc'/></disk>`,
  ),
  domain(
    'misc',
    `<disk type='file' device='disk'><source file='/mnt/nfs/x.qcow2'/><target dev='vda'/></disk>
     <disk type='volume' device='disk'><source pool='default' volume='misc.qcow2'/><target dev='vdb'/></disk>
     <disk type='network' device='disk'><source protocol='rbd' name='pool/image'/><target dev='vdc'/></disk>
     <disk type='file' device='disk'><source file='/mnt/loop/y.img'/><target dev='vdd'/></disk>
     <disk type='file' device='disk'><source file='/etc/../root/z.raw'/><target dev='vde'/></disk>`,
  ),
  { name: 'broken', uuid: 'uuid-broken', xml: '<domain><devices><disk></devices></domain>' },
];

describe('physical disk → VM disks', () => {
  it('follows files, LVM on md RAID1, partitions, backing chains and block sources', async () => {
    const map = await mapVmDisks({ domains: DOMAINS, procRoot: PROC, sysRoot: SYS });
    const on = (disk: string): string[] =>
      (map.byDisk.get(disk) ?? []).map(
        (r) => `${r.domain}:${r.target ?? '?'}${r.backingDepth > 0 ? `@${r.backingDepth}` : ''}`,
      );
    assert.deepEqual([...map.byDisk.keys()].sort(), ['nvme0n1', 'sda', 'sdb']);
    assert.deepEqual(on('sda'), ['web-1:vda', 'db-1:vda', 'db-1:vdb', 'misc:vde']);
    assert.deepEqual(on('sdb'), ['web-1:vda', 'db-1:vda', 'db-1:vdb', 'db-1:vdc']);
    assert.deepEqual(on('nvme0n1'), ['web-1:vda@1']);
    const web = map.byDisk.get('sda')?.[0];
    assert.deepEqual(web?.via, [
      'file /var/lib/libvirt/images/web-1.qcow2',
      'xfs /var/lib/libvirt/images (/dev/mapper/vg0-images, 253:0)',
      'dm-0',
      'md0',
      'sda2',
      'sda',
      'sdb2',
      'sdb',
    ]);
  });

  it('names what it could not trace, and why', async () => {
    const map = await mapVmDisks({ domains: DOMAINS, procRoot: PROC, sysRoot: SYS });
    assert.deepEqual(
      map.unresolved.map((u) => [`${u.ref.domain}:${u.ref.target ?? '?'}`, u.reason]),
      [
        ['misc:vda', 'filesystem nfs4 from filer:/export is not on a local block device'],
        ['misc:vdb', 'storage-pool volume: its path is known only to libvirt'],
        ['misc:vdc', 'network storage, not on a local disk'],
        ['misc:vdd', 'virtual device loop0 has no physical disk under it'],
      ],
    );
    assert.equal(map.problems.length, 1);
    assert.match(
      map.problems[0] ?? '',
      /^domain broken: Cannot parse XML at line 1, column \d+: end tag <\/devices> does not match start tag <disk>/,
    );
  });

  it('is a function of its inputs: no mountinfo, no map', async () => {
    const map = await mapVmDisks({
      domains: DOMAINS.slice(0, 1),
      procRoot: `${CASE}nope`,
      sysRoot: SYS,
    });
    assert.equal(map.byDisk.size, 0);
    assert.match(map.problems[0] ?? '', /no mounts read from .*nope\/self\/mountinfo/);
  });
});

describe('block topology and mounts', () => {
  it('reads devices, partitions, dm names and md members from sysfs', async () => {
    const t = await BlockTopology.load(SYS);
    assert.deepEqual(
      t.physicalDisks().map((d) => d.name),
      ['nvme0n1', 'sda', 'sdb'],
    );
    assert.deepEqual(t.get('sda2'), {
      name: 'sda2',
      partition: true,
      dev: '8:2',
      parent: 'sda',
      slaves: [],
      holders: ['md0'],
      virtual: false,
    });
    assert.deepEqual(t.resolve('dm-1'), {
      disks: ['sda', 'sdb'],
      path: ['dm-1', 'md0', 'sda2', 'sda', 'sdb2', 'sdb'],
      virtualLeaves: [],
    });
    assert.equal(blockName('/dev/vg0/vm-db-disk', t), 'dm-1');
    assert.equal(blockName('/dev/mapper/vg0-images', t), 'dm-0');
    assert.equal(blockName('/dev/sdb1', t), 'sdb1');
    assert.equal(blockName('/dev/disk/by-id/wwn-0x5000', t), undefined);
    assert.deepEqual(blockNamesForSmartDevice('/dev/nvme0', t), ['nvme0n1']);
    assert.deepEqual(blockNamesForSmartDevice('/dev/sda', t), ['sda']);
    assert.deepEqual(blockNamesForSmartDevice('/dev/bus/6', t), []);
  });

  it('picks the longest and latest mount point, unescaping \\040', () => {
    const mounts = parseMountinfo(
      '1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 8:2 / /a rw - ext4 /dev/sda2 rw\n3 1 8:3 / /a rw - ext4 /dev/sda3 rw\n4 1 8:4 / /a\\040b rw shared:1 - xfs /dev/sda4 rw\nbroken line\n',
    );
    assert.equal(mountFor(mounts, '/a/x')?.source, '/dev/sda3');
    assert.equal(mountFor(mounts, '/a b/x')?.source, '/dev/sda4');
    assert.equal(mountFor(mounts, '/ab')?.source, '/dev/sda1');
    assert.equal(mounts.length, 4);
  });

  it('lists disk sources with their backing chains', () => {
    const { sources } = domainDisks(DOMAINS[0]!);
    assert.deepEqual(
      sources.map((s) => [s.target, s.device, s.path, s.backingDepth]),
      [
        ['vda', 'disk', '/var/lib/libvirt/images/web-1.qcow2', 0],
        ['vda', 'disk', '/srv/fast images/base.qcow2', 1],
      ],
    );
  });
});
