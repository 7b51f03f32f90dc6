import { expect } from 'vitest';
import type { CounterClient } from '../../src/bench/counter-client.js';

/** No value lost or repeated on the one connection, and it never broke. */
export function expectConsecutive(client: CounterClient): void {
  expect(client.values).toEqual(client.values.map((_, i) => client.values[0]! + i));
  expect(client.events).toEqual([]);
}
