/** A growable circular FIFO (amortised O(1) push and shift). */
export class Ring<T> {
  private items: Array<T | undefined> = new Array<T | undefined>(8);
  private head = 0;
  length = 0;

  push(item: T): void {
    if (this.length === this.items.length) {
      const grown = new Array<T | undefined>(this.items.length * 2);
      for (let i = 0; i < this.length; i++) {
        grown[i] = this.items[(this.head + i) & (this.items.length - 1)];
      }
      this.items = grown;
      this.head = 0;
    }
    this.items[(this.head + this.length) & (this.items.length - 1)] = item;
    this.length++;
  }

  peek(): T | undefined {
    return this.length === 0 ? undefined : this.items[this.head];
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.length--;
    return item;
  }

  clear(): void {
    this.items = new Array<T | undefined>(8);
    this.head = 0;
    this.length = 0;
  }
}
