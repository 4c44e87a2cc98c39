/** A minimal typed event emitter; `on` returns the function that removes the listener. */
export class TypedEmitter<E extends { [K in keyof E]: (...args: never[]) => void }> {
  private readonly listeners = new Map<keyof E, Set<E[keyof E]>>();

  on<K extends keyof E>(event: K, listener: E[K]): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => void set.delete(listener);
  }

  emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        listener(...args);
      } catch (err) {
        // One failing listener must neither stop the others nor the client's own bookkeeping.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
