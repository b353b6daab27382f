/** An in-memory ConnectionsTable, so store tests can assert on the exact items written. */
import type { ConnectionItem, ItemTable } from '../../../shared/websocket/connection-store.js';

export function inMemoryItemTable(initial: ConnectionItem[] = []): ItemTable & { items(): ConnectionItem[] } {
  const rows = new Map<string, ConnectionItem>();
  const key = (item: Pick<ConnectionItem, 'pk' | 'sk'>) => `${item.pk}|${item.sk}`;
  for (const item of initial) rows.set(key(item), item);
  return {
    async putAll(items) {
      for (const item of items) rows.set(key(item), { ...item });
    },
    async deleteAll(keys) {
      for (const k of keys) rows.delete(key(k));
    },
    async partition(pk) {
      return [...rows.values()].filter((item) => item.pk === pk).sort((a, b) => a.sk.localeCompare(b.sk));
    },
    /** Every item, sorted by key, for assertions. */
    items() {
      return [...rows.values()].sort((a, b) => key(a).localeCompare(key(b)));
    },
  };
}
