import { describe, expect, it } from 'vitest';
import { configFromText } from '../../src/config/load.js';
import { errorLines } from './helpers.js';

const check = (text: string) => configFromText(text, 'f.yaml', '/etc/remusd');

describe('workload section', () => {
  it("none by default; a command (a relative program or log from the file's directory, a bare name from PATH) or a pidfile", () => {
    const none = check('');
    expect(none.ok && none.config.workload).toBeNull();
    const started = check('workload:\n  command: [./bin/server, --port, "6379"]\n  log: logs/server.out\n');
    expect(started.ok && started.config.workload).toEqual({
      kind: 'command',
      command: '/etc/remusd/bin/server',
      args: ['--port', '6379'],
      log: '/etc/remusd/logs/server.out',
      pidNamespace: false,
    });
    const onPath = check('workload: { command: [redis-server] }\n');
    expect(onPath.ok && onPath.config.workload).toEqual({
      kind: 'command',
      command: 'redis-server',
      args: [],
      log: null,
      pidNamespace: false,
    });
    const namespaced = check('workload: { command: [redis-server], pid_namespace: true }\n');
    expect(namespaced.ok && namespaced.config.workload).toMatchObject({ kind: 'command', pidNamespace: true });
    const attached = check('workload: { pid_file: /run/redis.pid }\n');
    expect(attached.ok && attached.config.workload).toEqual({ kind: 'pid-file', pidFile: '/run/redis.pid' });
  });

  it('names the file, the key and what to write instead', () => {
    expect(errorLines(check('workload:\n  command: [a]\n  pid_file: /run/a.pid\n'))).toEqual([
      'f.yaml:3:13: workload.pid_file: and workload.command both name the workload; keep one (command: remusd starts it; pid_file: it attaches)',
    ]);
    expect(errorLines(check('workload:\n  command: []\n'))).toEqual([
      'f.yaml:2:12: workload.command: is empty; give the program and its arguments, e.g. [/usr/bin/redis-server, --port, "6379"]',
    ]);
    expect(errorLines(check('workload:\n  pid_file: /run/a.pid\n  log: a.out\n'))).toEqual([
      'f.yaml:3:8: workload.log: applies to a workload remusd starts (workload.command); a pid_file workload writes its own output',
    ]);
    expect(errorLines(check('workload:\n  pid_file: /run/a.pid\n  pid_namespace: true\n'))).toEqual([
      'f.yaml:3:18: workload.pid_namespace: applies to a workload remusd starts (workload.command); start a pid_file workload with `unshare --pid --fork setsid CMD` yourself and name the init',
    ]);
    expect(errorLines(check('workload:\n  command: [a]\n  pid_namespace: yes\n'))).toEqual([
      'f.yaml:3:18: workload.pid_namespace: "yes" is not a boolean',
    ]);
    expect(errorLines(check('workload: {}\n'))).toEqual([
      'f.yaml:1:11: workload: names no workload; give workload.command or workload.pid_file',
    ]);
    expect(errorLines(check('workload:\n  command: [server, 6379]\n'))).toEqual([
      'f.yaml:2:21: workload.command[1]: 6379 is not allowed; each argument must be a non-empty string (quote numbers)',
    ]);
    expect(errorLines(check('workload:\n  cmd: [server]\n'))).toEqual([
      'f.yaml:2:3: workload.cmd: is not a known key; allowed keys under workload: command, log, pid_namespace, pid_file',
    ]);
  });
});
