import { describe, expect, it } from 'vitest';
import { configFromText } from '../../src/config/load.js';
import { errorLines } from './helpers.js';

const check = (text: string) => configFromText(text, 'remusd.yaml', '/etc/remusd');

describe('network config section', () => {
  it("normalizes the issue's example: the host side gets the first address and the namespace's name", () => {
    const result = check('network:\n  namespace: remusd-web\n  address: 10.88.0.2/24\n');
    expect(result.ok && result.config.network).toEqual({
      namespace: 'remusd-web',
      address: { address: '10.88.0.2', prefixLength: 24 },
      hostAddress: '10.88.0.1',
      hostInterface: 'remusd-web',
    });
    const none = check('interval: { initial: 1s }\n');
    expect(none.ok && none.config.network).toBeNull();
  });

  it('takes host_address and host_interface, and output commit defaults to that interface', () => {
    const result = check(
      'network: { namespace: web-primary-namespace, address: 10.88.4.20/22, host_address: 10.88.5.1, host_interface: veth-web }\n' +
        'output_commit: { enabled: true }\n',
    );
    expect(result.ok && result.config.network).toMatchObject({ hostAddress: '10.88.5.1', hostInterface: 'veth-web' });
    expect(result.ok && result.config.outputCommit.interface).toBe('veth-web');
  });

  it('names each bad value with its file, line, key and what is allowed', () => {
    expect(
      errorLines(
        check(
          'network:\n  namespace: "../etc"\n  address: 10.88.0.0/24\n  host_address: 10.88.0.300\n  host_interface: a-very-long-interface\n  veth: x\n',
        ),
      ),
    ).toEqual([
      'remusd.yaml:2:14: network.namespace: "../etc" is not a namespace name; use 1 to 64 letters, digits, or . _ - (starting with a letter or digit)',
      'remusd.yaml:3:12: network.address: "10.88.0.0/24" is the subnet\'s network address; use a host address',
      'remusd.yaml:4:17: network.host_address: "10.88.0.300" is not an IPv4 address; write e.g. 10.88.0.1',
      'remusd.yaml:5:19: network.host_interface: "a-very-long-interface" is not an interface name; use 1 to 15 letters, digits, or . _ : -',
      'remusd.yaml:6:3: network.veth: is not a known key; allowed keys under network: namespace, address, host_address, host_interface',
    ]);
  });

  it('requires namespace and address', () => {
    expect(errorLines(check('network:\n  host_interface: veth0\n'))).toEqual([
      "remusd.yaml:2:3: network.namespace: is required in the network section: write the network namespace's name, e.g. remusd-web",
      'remusd.yaml:2:3: network.address: is required in the network section: write the service address with its prefix length, e.g. 10.88.0.2/24',
    ]);
  });

  it('refuses a host address outside the subnet or equal to the service address, and a default interface name too long', () => {
    expect(errorLines(check('network: { namespace: web, address: 10.88.0.2/24, host_address: 10.88.1.1 }\n'))).toEqual([
      'remusd.yaml:1:65: network.host_address: 10.88.1.1 is not a host address of 10.88.0.0/24 (network.address 10.88.0.2/24); use one of that subnet, or leave it out for 10.88.0.1',
    ]);
    expect(
      errorLines(check('network: { namespace: web, address: 10.88.0.2/24, host_address: 10.88.0.2 }\n'))[0],
    ).toContain('is the service address itself');
    expect(errorLines(check('network: { namespace: remusd-web-primary, address: 10.88.0.2/24 }\n'))).toEqual([
      'remusd.yaml:1:23: network.namespace: "remusd-web-primary" is longer than 15 characters, too long for the host-side interface that takes its name by default; set network.host_interface',
    ]);
  });

  it('refuses CRIU network options in extra_args: the section sets them', () => {
    const lines = errorLines(
      check(
        'network: { namespace: web, address: 10.88.0.2/24 }\ncriu: { extra_args: [--tcp-established, --shell-job, "--external=net[1]:x", --skip-in-flight] }\n',
      ),
    );
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain(
      'criu.extra_args[0]: "--tcp-established" is set by remusd itself for the network section',
    );
    expect(lines[1]).toContain('criu.extra_args[2]');
    expect(lines[2]).toContain('criu.extra_args[3]: "--skip-in-flight" is set by remusd itself');
    // Without a network section they are the operator's business (e.g. a TCP workload in the host's namespace).
    expect(check('criu: { extra_args: [--tcp-established] }\n').ok).toBe(true);
  });
});
