import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { CarriedKeys } from '../src/middleware/carried-keys';

const request = () => new IncomingMessage(new Socket());

describe('CarriedKeys', () => {
  it('answers the key of a request until it is deleted', () => {
    const keys = new CarriedKeys(4);
    const req = request();
    keys.set(req, 'sid-1');
    expect(keys.has(req)).toBe(true);
    expect(keys.get(req)).toBe('sid-1');
    keys.delete(req);
    expect(keys.has(req)).toBe(false);
    expect(keys.get(req)).toBeUndefined();
    expect(keys.size).toBe(0);
  });

  it('holds at most its limit, dropping the longest-held request first', () => {
    const keys = new CarriedKeys(3);
    const requests = [request(), request(), request(), request(), request()];
    requests.forEach((req, index) => {
      keys.set(req, `sid-${index}`);
    });
    expect(keys.size).toBe(3);
    expect(requests.map((req) => keys.get(req))).toEqual([
      undefined,
      undefined,
      'sid-2',
      'sid-3',
      'sid-4',
    ]);
  });
});
