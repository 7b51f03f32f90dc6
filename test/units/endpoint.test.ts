import { describe, expect, it } from 'vitest';
import { formatEndpoint, isLoopback, parseEndpoint } from '../../src/units/endpoint.js';

describe('parseEndpoint (the one host:port parser)', () => {
  it('accepts IPv4, host names and bracketed IPv6', () => {
    expect(parseEndpoint('127.0.0.1:7070')).toEqual({ ok: true, value: { host: '127.0.0.1', port: 7070 } });
    expect(parseEndpoint('backup.example:7070')).toEqual({ ok: true, value: { host: 'backup.example', port: 7070 } });
    expect(parseEndpoint('[::1]:9464')).toEqual({ ok: true, value: { host: '::1', port: 9464 } });
  });

  it('refuses what is not host:port, with the reason', () => {
    for (const text of ['9464', '::1:9464', '[nope]:1', 'a b:1', 'host:', ':80', 'h:123456', '[::1]9464']) {
      const parsed = parseEndpoint(text);
      expect(parsed.ok, text).toBe(false);
      if (!parsed.ok) expect(parsed.error).toMatch(/host:port|port outside/);
    }
  });

  it('takes port 0 only where a listener may pick its own port', () => {
    expect(parseEndpoint('127.0.0.1:0')).toEqual({ ok: false, error: 'has a port outside 1..65535' });
    expect(parseEndpoint('127.0.0.1:0', { allowAnyPort: true })).toEqual({
      ok: true,
      value: { host: '127.0.0.1', port: 0 },
    });
    expect(parseEndpoint('127.0.0.1:65536', { allowAnyPort: true }).ok).toBe(false);
  });

  it('formats what it parses back to the same text', () => {
    for (const text of ['10.0.0.2:7070', '[::1]:7070', 'localhost:1']) {
      const parsed = parseEndpoint(text);
      expect(parsed.ok && formatEndpoint(parsed.value)).toBe(text);
    }
  });

  it('knows which hosts only this machine reaches', () => {
    expect(['127.0.0.1', '127.9.9.9', 'localhost', '::1', '::ffff:127.0.0.1'].every(isLoopback)).toBe(true);
    expect(['10.0.0.1', '0.0.0.0', '::', 'example.org', '128.0.0.1'].some(isLoopback)).toBe(false);
  });
});
