import { MemoryTokenStore, type StoredToken } from '../../src/index.js';

/**
 * A real memory store that also counts how often a request's calls (tokens and voucher codes)
 * ask it: proof of "no store call".
 */
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
  override saveCouponCode(key: string, couponCode: string, ttl: number) {
    this.calls += 1;
    return super.saveCouponCode(key, couponCode, ttl);
  }
  override getCouponCode(key: string) {
    this.calls += 1;
    return super.getCouponCode(key);
  }
}
