/** Timers that `stop()` can cut short, so a stopping emulator leaves no timer behind. */
export class Sleeper {
  readonly #pending = new Map<NodeJS.Timeout, () => void>();
  #stopped = false;

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Resolves after `ms`, or at once when stopped. */
  sleep(ms: number): Promise<void> {
    if (this.#stopped || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(timer);
        resolve();
      }, ms);
      this.#pending.set(timer, resolve);
    });
  }

  /** Wake every sleeper and make later sleeps return at once. */
  stop(): void {
    this.#stopped = true;
    for (const [timer, resolve] of this.#pending) {
      clearTimeout(timer);
      resolve();
    }
    this.#pending.clear();
  }

  /** Allow sleeping again (for a restart after stop). */
  reset(): void {
    this.#stopped = false;
  }
}
