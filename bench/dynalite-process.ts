/**
 * dynalite in its own process, so the handler benchmark's process.cpuUsage() counts the handler and the
 * SDK, not the server answering them. Prints `{"endpoint": ...}` once; exits when stdin closes.
 */
import { startDynalite } from '../src/local/aws/servers.js';

const server = await startDynalite();
process.stdout.write(`${JSON.stringify({ endpoint: server.endpoint })}\n`);
process.stdin.on('end', () => {
  void server.stop().then(() => process.exit(0));
});
process.stdin.resume();
