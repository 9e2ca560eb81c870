/**
 * A FIFO queue that runs at most `concurrency` items at once (default 1: one
 * training job owns the GPU). Items start in submission order; a finished item
 * lets the next one start.
 */
export class JobQueue<T> {
  private readonly waiting: T[] = [];
  private readonly running = new Set<T>();
  private paused = false;

  constructor(
    private readonly concurrency: number,
    private readonly run: (item: T) => Promise<void>,
  ) {}

  /** Adds an item; returns 0 when it started at once, else its 1-based place among the waiting. */
  enqueue(item: T): number {
    this.waiting.push(item);
    this.pump();
    const i = this.waiting.indexOf(item);
    return i === -1 ? 0 : i + 1;
  }

  /** Takes a waiting item out; false when it is not waiting (running or unknown). */
  remove(item: T): boolean {
    const i = this.waiting.indexOf(item);
    if (i === -1) return false;
    this.waiting.splice(i, 1);
    return true;
  }

  /** Starts nothing new (shutdown); running items go on. */
  pause(): void {
    this.paused = true;
  }

  get waitingItems(): readonly T[] {
    return this.waiting;
  }

  get runningItems(): T[] {
    return [...this.running];
  }

  get size(): number {
    return this.waiting.length + this.running.size;
  }

  private pump(): void {
    while (!this.paused && this.running.size < this.concurrency && this.waiting.length > 0) {
      const item = this.waiting.shift() as T;
      this.running.add(item);
      const settle = (): void => {
        this.running.delete(item);
        this.pump();
      };
      // run() reports its own failures; a rejection must still free the slot
      this.run(item).then(settle, settle);
    }
  }
}
