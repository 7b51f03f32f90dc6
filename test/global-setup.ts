import { execa } from 'execa';
import { requireRoot } from './helpers/root.js';

// The criu project's setup. Root first: without it every real-CRIU test would fail on its own, after a build.
// CLI tests run the built remusd (dist/), as a user would: build it from the current sources first.
export default async function setup(): Promise<void> {
  requireRoot();
  await execa('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
}
