// The scenarios, one row each. `faults` is what the fake Sovendus API injects for the whole load
// (seeded, so the same share of calls fails the same way in every run); `during` are the
// mid-run events, each started once the share `at` of the visitors has started.
import { sleep } from './random.mjs';

// injectFaults picks uniformly among `replies`, so a reply listed n times gets n shares.
const SERVER_ERRORS = [
  { status: 500 },
  { status: 502 },
  { status: 503 },
  { status: 504 },
  { status: 429, headers: { 'retry-after': '0' } },
];
// A 200 that takes 150 ms: counted by Sovendus as soon as the call arrives, answered later, so
// sends stay in flight long enough to be interrupted. Half the 300 ms attempt timeout, so that
// on a busy machine it does not become a timeout (and a second, counted call) by itself.
const SLOW_OK = { status: 200, delayMs: 150 };

/** 15 % 5xx/429, 3 % hang, 3 % reset, 3 % drop (taken, then the answer is lost). */
const API_FAULTS = { rate: 0.24, replies: [...SERVER_ERRORS, 'hang', 'reset', 'drop'] };
/** 15 % hang, 15 % slow 200: sends in flight at any moment. */
const IN_FLIGHT_FAULTS = { rate: 0.3, replies: ['hang', SLOW_OK] };
/** The API faults mix, plus 6 % slow 200s (each listed reply is 3 %). */
const ALL_FAULTS = { rate: 0.3, replies: [...API_FAULTS.replies, SLOW_OK, SLOW_OK] };

const apiDown = {
  name: 'API down 2 s',
  async run({ api }) {
    await api.goDown();
    await sleep(2_000);
    await api.comeBack();
  },
};
const redisStall = {
  name: 'Redis DEBUG SLEEP 2',
  run: ({ redis }) => redis.stall(2),
};
const redisKill = {
  name: 'Redis SIGKILL, restarted after 1.5 s',
  run: ({ redis }) => redis.crashAndRestart(1_500),
};
const instanceKill = {
  name: 'SIGKILL of the instance with the most sends in flight, restarted after 1 s',
  run: ({ shops }) => shops.killOneSending({ withinMs: 3_000, downMs: 1_000 }),
};

export const SCENARIOS = [
  { name: 'none', faults: undefined, during: [] },
  { name: 'api faults', faults: API_FAULTS, during: [{ at: 0.4, ...apiDown }] },
  { name: 'redis stall', faults: undefined, during: [{ at: 0.4, ...redisStall }] },
  { name: 'redis kill', faults: undefined, during: [{ at: 0.4, ...redisKill }] },
  { name: 'instance kill', faults: IN_FLIGHT_FAULTS, during: [{ at: 0.4, ...instanceKill }] },
  {
    name: 'all',
    faults: ALL_FAULTS,
    // Staggered so that their effects overlap without masking each other.
    during: [
      { at: 0.25, ...apiDown },
      { at: 0.35, ...redisStall },
      { at: 0.5, ...redisKill },
      { at: 0.65, ...instanceKill },
    ],
  },
];
