import { EXIT, type ExitCode } from './exit-codes.js';

/** An error the user can act on: printed as one message (no stack), with the exit status to use. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.error,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** A usage error (a bad option or argument): exit status 2. */
export function usageError(message: string): UserError {
  return new UserError(message, EXIT.usage);
}
