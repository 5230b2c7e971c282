// Walks over k-bucket's tree of buckets (its nodes are plain objects: `contacts` on leaves,
// `left`/`right` below a split).
import type { Contact } from './contact.js';
import { sortByDistance } from './contact.js';

/** A node of k-bucket's tree. */
export interface Leaf {
  contacts: Contact[] | null;
  left: Leaf | null;
  right: Leaf | null;
  dontSplit: boolean;
}

const bitAt = (id: Uint8Array, depth: number): number =>
  ((id[depth >> 3] as number) >> (7 - (depth & 7))) & 1;

/** The leaf (bucket) `id` falls in. */
export function leafOf(root: Leaf, id: Uint8Array): Leaf {
  let node = root;
  let depth = 0;
  while (node.contacts === null) {
    node = (bitAt(id, depth) === 1 ? node.right : node.left) as Leaf;
    depth++;
  }
  return node;
}

/** How many splits lie on the path to `id`'s leaf. */
export function depthOf(root: Leaf, id: Uint8Array): number {
  let node = root;
  let depth = 0;
  while (node.contacts === null) {
    node = (bitAt(id, depth) === 1 ? node.right : node.left) as Leaf;
    depth++;
  }
  return depth;
}

/**
 * Up to `n` contacts closest to `id`, closest first. Walks the tree in XOR order (the subtree on
 * `id`'s side of each split holds only closer contacts than the other), so only the leaves
 * needed are visited and sorted.
 */
export function closestIn(root: Leaf, id: Uint8Array, n: number): Contact[] {
  const out: Contact[] = [];
  const visit = (node: Leaf, depth: number): void => {
    if (out.length >= n) return;
    const contacts = node.contacts;
    if (contacts !== null) {
      if (contacts.length === 0) return;
      const sorted = contacts.length === 1 ? contacts : sortByDistance(contacts, id);
      for (let i = 0; i < sorted.length && out.length < n; i++) out.push(sorted[i] as Contact);
      return;
    }
    const bit = bitAt(id, depth);
    visit((bit === 1 ? node.right : node.left) as Leaf, depth + 1);
    visit((bit === 1 ? node.left : node.right) as Leaf, depth + 1);
  };
  visit(root, 0);
  return out;
}
