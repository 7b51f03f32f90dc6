import type { Argv } from 'yargs';
import { defineCommand } from '../command.js';
import { locateCriu } from '../../criu/locate.js';
import { probeNetworkDump, type NetworkCapability } from '../../criu/network-probe.js';
import { probeCapabilities, type Capabilities } from '../../criu/probe.js';
import { probeOutputCommit, type OutputCommitCapability } from '../../gate/probe.js';
import type { CheckpointMode } from '../../model/record.js';
import { UserError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { table } from '../format.js';
import { printJson } from '../json.js';
import { inboundHold } from '../run/output-commit.js';
import { checkDirtyProbe, type DirtyProbeCapability } from '../../process/dirty-probe.js';

const MODE_ORDER: CheckpointMode[] = ['pre-dump', 'dump', 'delta', 'full'];

/** `remusd check`: what CRIU and the kernel allow here, and which checkpoint modes follow. */
export const checkCommand = defineCommand({
  command: 'check',
  describe: 'Report CRIU, the kernel, dirty tracking and the checkpoint modes available on this machine',
  builder: (yargs: Argv) =>
    yargs
      .option('json', { type: 'boolean', default: false, describe: 'Print the report as JSON' })
      .option('criu', { type: 'string', describe: 'Path of the criu command to use' })
      .example('$0 check --json', ''),
  handler: async (args) => {
    const location = await locateCriu({ flag: args.criu });
    const capabilities = await probeCapabilities(location);
    // A real dump of a process with TCP sockets in its own namespace: only worth trying when CRIU works at all.
    const network: NetworkCapability = capabilities.modes.full.available
      ? await probeNetworkDump(location, capabilities.criu.version)
      : { available: false, detail: 'CRIU cannot checkpoint here at all', fix: 'run scripts/install-criu.sh as root' };
    const outputCommit = await probeOutputCommit(capabilities.plugQdisc);
    const networkLock = dumpNetworkLock(outputCommit.mechanism);
    const dirtyProbe = await checkDirtyProbe();
    if (args.json) printJson({ ...capabilities, network, outputCommit, networkLock, dirtyProbe });
    else process.stdout.write(`${humanReport(capabilities, network, outputCommit, networkLock, dirtyProbe)}\n`);
    if (!capabilities.modes.full.available) {
      throw new UserError(
        `CRIU cannot checkpoint here: ${capabilities.criu.checkOutput.split('\n').slice(-3).join(' / ') || 'criu check failed'}. ` +
          'Fix: run scripts/install-criu.sh as root to install CRIU 4.2 (4.1 is needed on kernels >= 6.13, 4.2 for network workloads on >= 6.16), and run remusd as root.',
        EXIT.criuUnavailable,
      );
    }
  },
});

/** Who keeps a network workload still during its dumps here: what a run with output commit and the default inbound_during_dump (auto) would use. */
interface NetworkLockReport {
  method: 'hold' | 'nftables';
  detail: string;
}

function dumpNetworkLock(mechanism: OutputCommitCapability['mechanism']): NetworkLockReport {
  if (mechanism !== null && inboundHold('auto', mechanism, true)) {
    return {
      method: 'hold',
      detail:
        "remusd's lossless hold: the TUN gate queues packets for the workload during each dump and lets them in after it (CRIU: --network-lock skip)",
    };
  }
  const why =
    mechanism === 'plug' ? 'the plug gate cannot hold inbound packets' : 'no output-commit gate here to hold them';
  return {
    method: 'nftables',
    detail: `CRIU's nftables lock: packets for the workload are dropped during each dump and clients resend (${why})`,
  };
}

function humanReport(
  c: Capabilities,
  network: NetworkCapability,
  outputCommit: OutputCommitCapability,
  lock: NetworkLockReport,
  probe: DirtyProbeCapability,
): string {
  const rows: string[][] = [
    ['CRIU', `${c.criu.source}`],
    ['version', `${c.criu.version ?? 'unknown'} (criu check: ${c.criu.checkOk ? 'ok' : 'FAILED'})`],
    ['kernel', c.kernel],
    ['page size', `${c.pageSize} bytes`],
    ['dirty tracking', `${c.dirtyTracking.available ? 'available' : 'unavailable'}: ${c.dirtyTracking.detail}`],
    ['dirty-size probe', `${probe.available ? 'available' : 'unavailable'}: ${probe.detail}`],
    ...MODE_ORDER.map((mode) => [`mode ${mode}`, `${c.modes[mode].available ? 'yes' : 'no '}  ${c.modes[mode].why}`]),
    ['plug qdisc', `${c.plugQdisc.available ? 'available' : 'unavailable'}: ${c.plugQdisc.detail}`],
    ['output commit', `${outputCommit.mechanism ?? 'NONE'}: ${outputCommit.detail}`],
    ['network lock', lock.detail],
    [
      'network workloads',
      `${network.available ? 'yes' : 'NO '}  ${network.detail}${network.dumpMs === undefined ? '' : ` (dump ${network.dumpMs} ms)`}`,
    ],
    ...(network.fix === undefined ? [] : [['', `fix: ${network.fix}`]]),
    ...(network.criuError === undefined ? [] : network.criuError.split('\n').map((line) => ['', `CRIU: ${line}`])),
  ];
  return table(rows);
}
