import { describe, expect, it } from 'vitest';
import { LineReplies } from '../../src/gate/line-replies.js';

describe('LineReplies', () => {
  it('settles requests in order, each with one whole line, however the text arrives', async () => {
    const replies = new LineReplies(64);
    const first = replies.next();
    const second = replies.next();
    expect(replies.push('ok 1')).toBe(true);
    expect(replies.push(' 2\nok')).toBe(true);
    expect(await first).toBe('ok 1 2');
    replies.push(' 3\nearly\n'); // a line before its request is kept for it
    expect(await second).toBe('ok 3');
    expect(await replies.next()).toBe('early');
  });

  it('reports more than maxBuffered left waiting: a line without its end, or lines nobody asked for', () => {
    expect(new LineReplies(8).push('123456789')).toBe(false);
    expect(new LineReplies(8).push('1234\n5678\n')).toBe(false);
    const asked = new LineReplies(8);
    void asked.next();
    expect(asked.push('12345678\n')).toBe(true);
  });

  it('after fail, waiting and later requests reject with the first error', async () => {
    const replies = new LineReplies(64);
    const waiting = replies.next();
    replies.fail(new Error('gone'));
    replies.fail(new Error('second'));
    await expect(waiting).rejects.toThrow('gone');
    await expect(replies.next()).rejects.toThrow('gone');
    expect(replies.failed?.message).toBe('gone');
  });
});
