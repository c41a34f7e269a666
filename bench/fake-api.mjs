// The fake Sovendus API for the checkout benchmarks, in a process of its own: answers 200 at once.
import { startFakeSovendusApi } from 'sovendus-express/testing';

const api = await startFakeSovendusApi();
console.log(`READY ${api.url}`);
// Keep memory flat over a long run: the benchmark does not need the call log.
setInterval(() => api.reset(), 1_000).unref();
process.on('SIGTERM', () => {
  void api.close().then(() => process.exit(0));
});
