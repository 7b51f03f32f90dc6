import { describe, expect, it } from 'vitest';
import { throttleLayout } from './slow-disk.js';

// Which cgroup read limit slowDiskFor writes: v1 blkio where it is mounted (this machine and the CI machines),
// else v2's io.max (the qemu VM, current distributions), which ship-heartbeat.test.ts could not use before.
// The machines here mount v1 blkio, so the v2 choice is checked on what each layout shows, not on a v2 kernel.
describe('throttleLayout', () => {
  const V1_FILE = '/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device';

  it('cgroup v1 blkio wins where it is mounted (a hybrid host with cgroup2 at /sys/fs/cgroup/unified)', () => {
    const layout = throttleLayout(
      (path) => path === V1_FILE,
      () => undefined,
    );
    expect(layout).toMatchObject({ version: 1, root: '/sys/fs/cgroup/blkio', file: 'blkio.throttle.read_bps_device' });
    if (typeof layout === 'string') throw new Error(layout);
    expect(layout.line('8:0', 2097152)).toBe('8:0 2097152\n');
  });

  it('cgroup v2 with the io controller at the root: io.max, "MAJ:MIN rbps=N"', () => {
    const layout = throttleLayout(
      () => false,
      () => 'cpuset cpu io memory hugetlb pids rdma misc\n',
    );
    expect(layout).toMatchObject({ version: 2, root: '/sys/fs/cgroup', file: 'io.max' });
    if (typeof layout === 'string') throw new Error(layout);
    expect(layout.line('254:0', 2097152)).toBe('254:0 rbps=2097152\n');
  });

  it('neither: the message names both and how to mount each', () => {
    for (const controllers of [undefined, '', 'cpu memory pids\n']) {
      const layout = throttleLayout(
        () => false,
        () => controllers,
      );
      expect(layout).toContain('cgroup v1 blkio');
      expect(layout).toContain('mount -t cgroup2 cgroup2 /sys/fs/cgroup');
    }
  });
});
