/**
 * Fault injection on a REAL SDK client talking to a real server: a middleware that fails chosen calls
 * before they are sent, or after the server applied them (the response lost).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface Fault {
  command: string;
  /** `before`: the call never reaches the server; `after`: it is applied, then the response is lost. */
  when: 'before' | 'after';
  /** Error name: transient ones (ThrottlingException, TimeoutError) are retried by the sink. */
  errorName: string;
  /** Calls of `command` to let through first, then how many to fail. */
  skip: number;
  times: number;
}

export class FaultInjector {
  private faults: Array<Fault & { seen: number }> = [];
  fired = 0;

  add(fault: Fault): this {
    this.faults.push({ ...fault, seen: 0 });
    return this;
  }

  clear(): void {
    this.faults = [];
  }

  attach(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const fault = this.match(context.commandName as string);
        if (fault?.when === 'before') throw this.error(fault);
        const out = await next(args);
        if (fault?.when === 'after') throw this.error(fault);
        return out;
      },
      { step: 'initialize', name: 'streamtallyFaultInjector' },
    );
  }

  private match(commandName: string): Fault | undefined {
    for (const f of this.faults) {
      if (f.command !== commandName) continue;
      const n = f.seen++;
      if (n >= f.skip && n < f.skip + f.times) {
        this.fired++;
        return f;
      }
    }
    return undefined;
  }

  private error(fault: Fault): Error {
    const err = new Error(`injected ${fault.errorName} on ${fault.command}`);
    err.name = fault.errorName;
    return err;
  }
}
