// Writes failover.json again and again through the built writeFailoverReport (dist/), as one of two
// failovers of a backup directory would: "report-writer.mjs DIR WRITER SECONDS". Each report names its
// writer and generation and carries an error text of ~256 KiB, so that each write takes a while. Prints
// "wrote N" at the end, and "wrote 1" once the first report is on disk (for a test that kills it).
const { writeFailoverReport } = await import(new URL('../../dist/replicate/failover-report.js', import.meta.url).href);
const [dir, writer, seconds] = process.argv.slice(2);
const padding = `${writer} `.repeat((256 << 10) / (writer.length + 1));
const until = performance.now() + Number(seconds) * 1000;
let n = 0;
while (performance.now() < until) {
  n++;
  await writeFailoverReport(dir, {
    ok: false,
    reason: 'manual',
    message: `${writer} ${n}`,
    triggered_at: new Date().toISOString(),
    checkpoint: `${writer}-${n}`,
    error: padding,
  });
  if (n === 1) process.stdout.write('wrote 1\n');
}
process.stdout.write(`wrote ${n}\n`);
