/**
 * dynalite in its own process, so the handler benchmark's process.cpuUsage() counts the handler and the
 * SDK, not the server answering them. Prints `{"endpoint": ...}` once; exits when stdin closes.
 * It uses the dynalite package directly: bench/, like everything outside src/local and src/cli, does not
 * import the local runtime.
 */
import dynalite from 'dynalite';

const LOOPBACK = '127.0.0.1';
const server = dynalite({ createTableMs: 0 });
await new Promise<void>((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, LOOPBACK, () => resolve());
});
const address = server.address();
const port = typeof address === 'object' && address ? address.port : 0;
process.stdout.write(`${JSON.stringify({ endpoint: `http://${LOOPBACK}:${port}` })}\n`);
process.stdin.on('end', () => {
  server.close(() => process.exit(0));
});
process.stdin.resume();
