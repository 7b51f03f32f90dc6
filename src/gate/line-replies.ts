// Replies that come back one line each, in the order the requests went out: the gate helper's stdout
// (helper.ts) and the control socket's answers to the shipper (control.ts).

/** Each complete line settles the oldest waiting request; after fail(), every request rejects. */
export class LineReplies {
  private buffer = '';
  private readonly waiting: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  private ended: Error | undefined;

  /** maxBuffered bounds what may wait unanswered: a line without its end, or lines nobody asked for. */
  constructor(private readonly maxBuffered: number) {}

  /** The error given to fail(), if any: no reply will come any more. */
  get failed(): Error | undefined {
    return this.ended;
  }

  /** The next reply line, once it is complete. */
  next(): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.ended !== undefined) return reject(this.ended);
      this.waiting.push({ resolve, reject });
      this.drain();
    });
  }

  /** Takes received text; false (the peer should be dropped) when more than maxBuffered is left waiting. */
  push(chunk: string): boolean {
    this.buffer += chunk;
    this.drain();
    return this.buffer.length <= this.maxBuffered;
  }

  /** Rejects every waiting and every later request with the first error given. */
  fail(error: Error): void {
    this.ended ??= error;
    for (const waiter of this.waiting.splice(0)) waiter.reject(this.ended);
  }

  private drain(): void {
    let newline: number;
    while (this.waiting.length > 0 && (newline = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 1);
      this.waiting.shift()?.resolve(line);
    }
  }
}
