import { MemoryTokenStore, type StoredToken } from '../../src/index.js';

/** A real memory store that also counts how often it is asked: proof of "no store call". */
export class CountingStore extends MemoryTokenStore {
  calls = 0;
  override saveToken(key: string, entry: StoredToken, ttl: number) {
    this.calls += 1;
    return super.saveToken(key, entry, ttl);
  }
  override getToken(key: string) {
    this.calls += 1;
    return super.getToken(key);
  }
}
