import { execa } from 'execa';

// CLI tests run the built remusd (dist/), as a user would: build it from the current sources first.
export default async function setup(): Promise<void> {
  await execa('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
}
