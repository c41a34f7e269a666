export {
  startFakeSovendusApi,
  type FakeReply,
  type FakeSovendusApi,
  type FakeSovendusApiOptions,
  type FakeSovendusCall,
} from './fake-sovendus-api.js';
