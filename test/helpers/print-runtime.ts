/**
 * vitest globalSetup: says once per run which Node (and Java, for DynamoDB Local) the suites run on, so a
 * log shows whether a run was on Node 20 or 22 and which tests skip for want of Java 17+.
 */
import { javaRuntime } from '../../src/local/aws/servers.js';

export default function printRuntime(): void {
  const java = javaRuntime();
  const javaText = java.unavailableReason
    ? `no DynamoDB Local (${java.unavailableReason}): the tests that need it skip, with their reason`
    : `Java ${java.major} (DynamoDB Local with Streams)`;
  process.stdout.write(`streamtally tests on Node ${process.version} (${process.execPath}); ${javaText}\n`);
}
