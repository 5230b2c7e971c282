import { type Entry, type List, listPush, listRemove, newList } from './entry.js';
import { PRIORITIES } from './priority.js';

/**
 * The `send()` calls waiting for room in one peer queue, one FIFO per priority. `pump()` admits
 * them most urgent first while they fit; a waiter that does not fit stops the less urgent ones
 * too, so they can never take the room it waits for. Re-entrant calls (admitting a waiter can
 * dispatch a message, which pumps again) are folded into the running pump.
 */
export class Waiters {
  private readonly lists: List[] = PRIORITIES.map(newList);
  private pumping = false;
  private again = false;
  count = 0;
  /** Bytes of the waiting messages. */
  bytes = 0;

  /** True when nobody waits at `level` or any more urgent level. */
  noneUpTo(level: number): boolean {
    for (let i = 0; i <= level; i++) if ((this.lists[i] as List).length > 0) return false;
    return true;
  }

  add(e: Entry): void {
    listPush(this.lists[e.level] as List, e);
    this.count++;
    this.bytes += e.bytes;
  }

  remove(e: Entry): void {
    listRemove(this.lists[e.level] as List, e);
    this.count--;
    this.bytes -= e.bytes;
  }

  /** The oldest waiter of the most urgent level, taken out; undefined when none waits. */
  shift(): Entry | undefined {
    for (const list of this.lists) {
      if (list.head !== undefined) {
        const e = list.head;
        this.remove(e);
        return e;
      }
    }
    return undefined;
  }

  pump(fits: (level: number, bytes: number) => boolean, admit: (e: Entry) => void): void {
    if (this.count === 0) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        this.pumpOnce(fits, admit);
      } while (this.again);
    } finally {
      this.pumping = false;
    }
  }

  private pumpOnce(
    fits: (level: number, bytes: number) => boolean,
    admit: (e: Entry) => void,
  ): void {
    for (let level = 0; level < this.lists.length; level++) {
      const list = this.lists[level] as List;
      for (let w = list.head; w !== undefined; w = list.head) {
        if (!fits(level, w.bytes)) return;
        this.remove(w);
        admit(w);
      }
    }
  }
}
