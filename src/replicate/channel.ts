import type { Socket } from 'node:net';
import { dataHeader, encodeMessage, FrameDecoder, ProtocolError, type Frame, type Message } from './protocol.js';

/** The peer sent an error message (it has logged it too), or closed the connection. */
export class PeerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeerError';
  }
}

/** The peer closed the connection where a message was expected. */
export class PeerClosedError extends PeerError {
  constructor() {
    super('the peer closed the connection');
    this.name = 'PeerClosedError';
  }
}

/**
 * Frames over one socket: read them one at a time (the socket is only read as fast as they are consumed,
 * so a slow disk on the receiver slows the sender instead of filling memory), write them honouring
 * back-pressure.
 */
export class Channel {
  private readonly frames: AsyncGenerator<Frame>;

  /** firstFrameMaxBytes: see FrameDecoder (the receiver bounds what it buffers before the hello). */
  constructor(
    readonly socket: Socket,
    { firstFrameMaxBytes }: { firstFrameMaxBytes?: number } = {},
  ) {
    // Errors surface through next() and the writes; without a listener an ECONNRESET would crash the process.
    socket.on('error', () => undefined);
    this.frames = readFrames(socket, new FrameDecoder(firstFrameMaxBytes));
  }

  /** The next frame, or undefined when the peer closed the connection cleanly between frames. */
  async next(): Promise<Frame | undefined> {
    const result = await this.frames.next();
    return result.done ? undefined : result.value;
  }

  /** The next control message; a peer's error message or a closed connection throws PeerError. */
  async nextMessage(): Promise<Message> {
    const frame = await this.next();
    if (frame === undefined) throw new PeerClosedError();
    if (frame.kind !== 'message') throw new ProtocolError('expected a control message, got file bytes');
    if (frame.message.type === 'error') throw new PeerError(`peer says: ${frame.message.message}`);
    return frame.message;
  }

  /** Sends a control message. */
  async send(message: Message): Promise<void> {
    await this.write(encodeMessage(message));
  }

  /** Sends one chunk of file bytes. */
  async sendData(bytes: Buffer): Promise<void> {
    this.socket.cork();
    this.socket.write(dataHeader(bytes.length));
    const flushed = this.write(bytes);
    this.socket.uncork();
    await flushed;
  }

  /** Sends an error message (best effort) and closes the connection once it is written. */
  async fail(message: string): Promise<void> {
    try {
      await this.send({ type: 'error', message });
    } catch {
      // the peer is gone already; nothing to tell it
    }
    this.socket.end();
  }

  /**
   * Says goodbye (the peer must not take the silence that follows for a failure) and closes the connection
   * once everything queued is written. Safe at any moment: every frame is queued whole, so the goodbye
   * lands between two frames, even in the middle of a transfer. A peer that never closes its side is cut
   * off after `timeoutMs`.
   */
  farewell(reason: string, timeoutMs = 2_000): void {
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return;
    socket.write(encodeMessage({ type: 'goodbye', reason }));
    socket.end();
    setTimeout(() => socket.destroy(), timeoutMs).unref();
  }

  /** Closes the connection at once. */
  destroy(): void {
    this.socket.destroy();
  }

  private write(bytes: Buffer): Promise<void> {
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return Promise.reject(new PeerError('the connection is closed'));
    if (socket.write(bytes)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (error?: Error) => {
        socket.off('drain', onDrain);
        socket.off('close', onClose);
        if (error) reject(error);
        else resolve();
      };
      const onDrain = () => done();
      const onClose = () => done(new PeerError('the connection closed while sending'));
      socket.on('drain', onDrain);
      socket.on('close', onClose);
    });
  }
}

async function* readFrames(socket: Socket, decoder: FrameDecoder): AsyncGenerator<Frame> {
  // Not destroyed when a garbled frame ends the loop: fail() still has to tell the peer why.
  // A socket with no encoding set yields Buffers; Node types the iterator's items as any.
  for await (const chunk of socket.iterator({ destroyOnReturn: false })) yield* decoder.push(chunk);
  if (decoder.pending > 0)
    throw new PeerError(`the connection closed in the middle of a frame (${decoder.pending} bytes of it received)`);
}
