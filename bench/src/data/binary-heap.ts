/** A binary heap whose root is the item that `comesFirst` ranks ahead of all others. */
export class BinaryHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly comesFirst: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.comesFirst(items[index]!, items[parent]!)) break;
      [items[index], items[parent]] = [items[parent]!, items[index]!];
      index = parent;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        const right = left + 1;
        let first = index;
        if (left < items.length && this.comesFirst(items[left]!, items[first]!)) first = left;
        if (right < items.length && this.comesFirst(items[right]!, items[first]!)) first = right;
        if (first === index) break;
        [items[index], items[first]] = [items[first]!, items[index]!];
        index = first;
      }
    }
    return top;
  }

  /** Removes and returns every item, in no particular order. */
  drain(): T[] {
    return this.items.splice(0);
  }
}
