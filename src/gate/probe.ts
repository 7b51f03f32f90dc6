import { existsSync } from 'node:fs';
import { execa } from 'execa';
import type { GateMechanism } from './gate.js';
import { rpFilterProblem } from './redirect.js';

/** Which output-commit mechanism `mechanism: auto` uses here, or why there is none. */
export interface OutputCommitCapability {
  mechanism: GateMechanism | null;
  detail: string;
}

/** The plug qdisc where the kernel has it, else remusd's TUN gate when TUN, tc and the reverse-path filter allow it. */
export async function probeOutputCommit(plug: { available: boolean; detail: string }): Promise<OutputCommitCapability> {
  const tc = await execa('tc', ['-V']).then(
    () => undefined,
    () => 'no tc command (install iproute2)',
  );
  if (tc !== undefined) return { mechanism: null, detail: tc };
  if (plug.available)
    return {
      mechanism: 'plug',
      detail: `the kernel's plug qdisc (${plug.detail}), fed through an IFB device as xl remus does`,
    };
  if (!existsSync('/dev/net/tun'))
    return { mechanism: null, detail: `no plug qdisc (${plug.detail}) and no /dev/net/tun (load the tun module)` };
  const rp = await rpFilterProblem();
  if (rp !== undefined)
    return { mechanism: null, detail: `no plug qdisc (${plug.detail}); the TUN gate cannot work: ${rp}` };
  return {
    mechanism: 'tun',
    detail: `no plug qdisc (${plug.detail}): remusd's TUN gate holds the packets (a helper process, tc mirred into a TUN device)`,
  };
}
