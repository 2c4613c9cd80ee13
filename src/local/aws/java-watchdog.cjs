/*
 * Runs a command (argv[2..]) and kills it with SIGKILL as soon as this process's stdin closes, which
 * happens when the Node process that spawned us ends in any way, SIGKILL included. Used for DynamoDB
 * Local on a Java without the jdk.compiler module (a jlink'ed JRE), where LoopbackDynamoDbLocal.java
 * cannot run in source-file mode. Prints the child's pid on stdout first.
 */
'use strict';
const { spawn } = require('node:child_process');

const [command, ...args] = process.argv.slice(2);
const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
process.stdout.write(`pid ${child.pid}\n`);
const kill = () => {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
};
process.stdin.on('end', kill);
process.stdin.on('close', kill);
process.stdin.on('error', kill);
process.stdin.resume();
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, kill);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
child.on('error', (err) => {
  process.stderr.write(`java-watchdog: ${err.message}\n`);
  process.exit(127);
});
