#!/usr/bin/env node
// Errors reach the user as one line (the message); NORMLAB_DEBUG=1 shows the JavaScript stack too.
const debug = process.env.NORMLAB_DEBUG === '1';
const report = (err) => {
  const text = err instanceof Error ? (debug ? err.stack ?? err.message : err.message) : String(err);
  process.stderr.write(`normlab: ${text.replace(/^normlab: /, '')}\n`);
};
process.on('uncaughtException', (err) => {
  report(err);
  process.exit(1);
});
process.on('unhandledRejection', (err) => {
  report(err);
  process.exit(1);
});
import('../dist/src/cli/main.js').then((m) => m.main(process.argv.slice(2))).then(
  (code) => { process.exitCode = code ?? 0; },
  (err) => { report(err); process.exitCode = 1; },
);
