import { describe, expect, it } from 'vitest';
import { attachRefusal, type AttachFacts } from '../../src/process/attach-check.js';

const leader = { state: 'S', parent: 900, sessionId: 4242, kernelThread: false };
const facts = (overrides: Partial<AttachFacts>): AttachFacts => ({
  pid: 4242,
  place: leader,
  selfAncestry: [5000, 4999, 1],
  shellJob: false,
  nested: undefined,
  ...overrides,
});

describe('attachRefusal', () => {
  it('accepts a live session leader that is not remusd or its ancestor', () => {
    expect(attachRefusal(facts({}))).toBeUndefined();
  });

  it.each<[string, Partial<AttachFacts>, string]>([
    ['init', { pid: 1 }, 'is init'],
    ['remusd itself', { pid: 5000 }, 'is remusd itself'],
    ['its parent shell', { pid: 4999 }, 'is an ancestor of remusd'],
    ['a missing process', { place: undefined }, 'does not exist'],
    ['a zombie', { place: { ...leader, state: 'Z' } }, 'is a zombie'],
    ['a kernel thread', { place: { ...leader, kernelThread: true } }, 'is a kernel thread'],
    ['a non-leader', { place: { ...leader, sessionId: 77 } }, 'is not a session leader (it belongs to session 77)'],
    ['pid 0', { pid: 0 }, 'is not a process id'],
    ['unshare above a pid namespace init', { nested: { pid: 4243, parent: 4242 } }, 'give --pid 4243'],
    [
      'a tree with a pid namespace deeper down',
      { nested: { pid: 4300, parent: 4250 } },
      "give --pid the namespace's init",
    ],
  ])('refuses %s', (_name, overrides, reason) => {
    expect(attachRefusal(facts(overrides))).toContain(reason);
  });

  it('names the fixes for a non-leader, and lets it pass with --shell-job', () => {
    const nonLeader = { place: { ...leader, sessionId: 77 } };
    expect(attachRefusal(facts(nonLeader))).toMatch(/setsid.*--shell-job/);
    expect(attachRefusal(facts({ ...nonLeader, shellJob: true }))).toBeUndefined();
  });
});
