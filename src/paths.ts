import { fileURLToPath } from 'node:url';

/** The package's root directory, the same from src/ (tests) and from dist/ (the built CLI): both sit one level below it. */
export function packageRoot(): string {
  return fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
}
