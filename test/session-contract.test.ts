import express, { type Request, type Response, Router } from 'express';
import session, { type SessionData, type SessionOptions } from 'express-session';
import request from 'supertest';
import { createSovendus, MemoryTokenStore } from '../src/index.js';
import { API_KEY, PRODUCT_ID, TEST_TOKEN } from './support/shop.js';

/**
 * `capture()` must leave express-session's behaviour alone. Each scenario runs twice, against a
 * shop with plain express-session and against the same shop with `capture()` mounted, every
 * request carrying a token; the two transcripts (status, what the route saw of `req.session`,
 * the cookie set, and each call the session store got) must be equal. The only differences
 * allowed are the documented ones: `sovendusKey` in the session's data (removed from the
 * transcript), and a tokened session that is saved, with its cookie set, under
 * `saveUninitialized: false` (each scenario's first request writes to the session, so plain
 * express-session saves it too).
 */
const KEY_FIELD = 'sovendusKey';

interface StoreCall {
  call: 'get' | 'set' | 'touch' | 'destroy';
  session: string;
  data?: unknown;
}

/** A real MemoryStore that writes down each call it gets, session ids as s1, s2, ... */
class RecordingStore extends session.MemoryStore {
  readonly calls: StoreCall[] = [];
  constructor(private readonly label: (sid: string) => string) {
    super();
  }
  override get(sid: string, callback: (err: unknown, session?: SessionData | null) => void) {
    this.calls.push({ call: 'get', session: this.label(sid) });
    super.get(sid, callback);
  }
  override set(sid: string, data: SessionData, callback?: (err?: unknown) => void) {
    this.calls.push({ call: 'set', session: this.label(sid), data: withoutKey(data) });
    super.set(sid, data, callback);
  }
  override touch(sid: string, data: SessionData, callback?: () => void) {
    this.calls.push({ call: 'touch', session: this.label(sid) });
    super.touch(sid, data, callback);
  }
  override destroy(sid: string, callback?: (err?: unknown) => void) {
    this.calls.push({ call: 'destroy', session: this.label(sid) });
    super.destroy(sid, callback);
  }
}

/**
 * Session data as JSON without `sovendusKey`, and without the cookie's times: express-session
 * derives `originalMaxAge` from `expires - Date.now()`, so it reads 59999 for a 60000 maxAge
 * when a millisecond passes, in either shop.
 */
function withoutKey(data: unknown): unknown {
  const { [KEY_FIELD]: _key, ...json } = JSON.parse(JSON.stringify(data)) as Record<
    string,
    unknown
  >;
  const cookie = json.cookie as Record<string, unknown> | undefined;
  if (cookie) {
    cookie.expires = cookie.expires === null ? null : 'set';
    if (typeof cookie.originalMaxAge === 'number') cookie.originalMaxAge = 'set';
  }
  return json;
}

type Session = Request['session'] & Record<string, unknown>;

/** What a route can see of the session, without ids (they differ between the two shops). */
function look(req: Request, before?: Session) {
  const current = req.session as Session | null | undefined;
  return {
    has: 'session' in req,
    type: current === null ? 'null' : typeof current,
    same: before === undefined ? undefined : current === before,
    data:
      current && typeof current === 'object'
        ? Object.keys(current).filter((key) => key !== KEY_FIELD && key !== 'cookie')
        : undefined,
    n: current?.n,
  };
}

/** The routes both shops share. Each answers with what it saw. */
function routes(): Router {
  const router = Router();
  router.get('/write', (req, res) => {
    const current = req.session as Session | undefined;
    if (current === undefined) {
      res.json(look(req));
      return;
    }
    current.n = typeof current.n === 'number' ? current.n + 1 : 1;
    res.json(look(req));
  });
  router.get('/read', (req, res) => {
    res.json(look(req));
  });
  router.get('/regenerate', (req, res) => {
    const old = req.session as Session;
    const seen: Record<string, unknown> = {};
    old.regenerate((error: unknown) => {
      seen.inCallback = { ...look(req, old), error: error instanceof Error ? error.message : '' };
      (req.session as Session).m = 'new';
      seen.afterWrite = look(req, old);
      res.json(seen);
    });
    seen.rightAfter = look(req, old);
    // Code that writes to req.session right after calling regenerate: plain express-session
    // still shows the old session here, so this goes to the old (discarded) session.
    (req.session as Session).x = 'written in between';
    seen.afterWriteInBetween = look(req, old);
  });
  router.get('/regenerate-twice', (req, res) => {
    const first = req.session as Session;
    first.regenerate(() => {
      const second = req.session as Session;
      second.regenerate(() => {
        res.json({ first: look(req, first), second: look(req, second) });
      });
    });
  });
  router.get('/destroy', (req, res) => {
    const old = req.session as Session;
    const seen: Record<string, unknown> = {};
    old.destroy((error: unknown) => {
      seen.inCallback = { ...look(req, old), error: error instanceof Error ? error.message : '' };
      res.json(seen);
    });
    seen.rightAfter = look(req, old);
  });
  router.get('/destroy-and-generate', (req, res) => {
    const old = req.session as Session;
    old.destroy(() => {
      req.sessionStore.generate(req);
      (req.session as Session).m = 'new';
      res.json(look(req, old));
    });
  });
  router.get('/unset', (req, res) => {
    (req as { session: unknown }).session = null;
    res.json(look(req));
  });
  router.get('/delete', (req, res) => {
    delete (req as { session?: unknown }).session;
    res.json(look(req));
  });
  router.get('/reload', (req, res) => {
    const old = req.session as Session;
    old.reload(() => {
      res.json(look(req, old));
    });
  });
  return router;
}

type Step = string | ((store: RecordingStore) => void);

interface Exchange {
  status: number;
  body: unknown;
  cookie: string | null;
  store: StoreCall[];
}

/** Runs the steps against one shop; returns its transcript and how many tokens it captured. */
async function transcript(withCapture: boolean, options: Partial<SessionOptions>, steps: Step[]) {
  const labels = new Map<string, string>();
  const label = (sid: string) => {
    if (!labels.has(sid)) labels.set(sid, `s${labels.size + 1}`);
    return labels.get(sid)!;
  };
  const store = new RecordingStore(label);
  const app = express();
  app.use(session({ secret: 's', resave: false, saveUninitialized: false, store, ...options }));
  let captured = 0;
  if (withCapture) {
    const sovendus = createSovendus({
      productId: PRODUCT_ID,
      apiKey: API_KEY,
      store: new MemoryTokenStore(),
    });
    sovendus.on('captured', () => (captured += 1));
    app.use(sovendus.capture());
  }
  app.use('/shop', routes());
  app.use(routes());
  app.use((error: unknown, _req: Request, res: Response, _next: unknown) => {
    res.status(500).json({ error: String(error) });
  });

  const agent = request.agent(app);
  const exchanges: Exchange[] = [];
  for (const step of steps) {
    if (typeof step === 'function') {
      step(store);
      continue;
    }
    store.calls.length = 0;
    const response = await agent.get(`${step}?sovReqToken=${TEST_TOKEN}`);
    const setCookie = (response.headers['set-cookie'] as string[] | undefined)?.join(';');
    const cookie =
      setCookie === undefined
        ? null
        : setCookie
            .replace(/connect\.sid=s%3A([^.;]+)\.[^;]*/, (_all, sid: string) => `sid=${label(sid)}`)
            .replace(/Expires=[^;]*/, 'Expires=set');
    exchanges.push({
      status: response.status,
      body: response.body,
      cookie,
      store: [...store.calls],
    });
  }
  return { exchanges, captured };
}

/** The scenario's transcript with capture mounted equals the one without. */
async function expectSameAsPlain(options: Partial<SessionOptions>, steps: Step[]) {
  const plain = await transcript(false, options, steps);
  const withCapture = await transcript(true, options, steps);
  expect(withCapture.exchanges).toEqual(plain.exchanges);
  return { plain: plain.exchanges, withCapture };
}

const disconnect: Step = (store) => store.emit('disconnect');
const reconnect: Step = (store) => store.emit('connect');

describe('express-session with capture() and a token on every request, compared with plain express-session', () => {
  it('a request outside cookie.path has no session, and gets no cookie', async () => {
    const { plain, withCapture } = await expectSameAsPlain({ cookie: { path: '/shop' } }, [
      '/read',
      '/write',
      '/shop/write',
      '/read',
      '/shop/read',
    ]);
    expect(plain[0]).toMatchObject({ status: 200, cookie: null, body: { has: false } });
    expect(plain[1]).toMatchObject({ status: 200, cookie: null, body: { has: false } });
    expect(withCapture.captured).toBe(2);
  });

  it('while the session store is disconnected there is no session; after it reconnects, there is', async () => {
    const { plain, withCapture } = await expectSameAsPlain({}, [
      '/write',
      disconnect,
      '/read',
      '/write',
      reconnect,
      '/read',
      '/write',
    ]);
    expect(plain[1]).toMatchObject({ status: 200, cookie: null, body: { has: false } });
    expect(plain[3]).toMatchObject({ status: 200, body: { has: true, n: 1 } });
    expect(withCapture.captured).toBe(3);
  });

  it('regenerate(): the old session until the callback, a new one in it', async () => {
    const { plain, withCapture } = await expectSameAsPlain({}, ['/write', '/regenerate', '/read']);
    expect(plain[1]?.body).toMatchObject({
      rightAfter: { has: true, type: 'object', same: true, n: 1 },
      inCallback: { has: true, type: 'object', same: false, data: [] },
    });
    expect(withCapture.captured).toBe(3);
  });

  it('regenerate() twice in one request', async () => {
    await expectSameAsPlain({}, ['/write', '/regenerate-twice', '/read']);
  });

  it("destroy(): no session, and no 'session' property, right after the call and in the callback", async () => {
    // After a destroy, a request's new session is saved only when written to (a tokened one
    // always is: the documented difference), so the next request writes.
    const { plain } = await expectSameAsPlain({}, ['/write', '/destroy', '/write', '/read']);
    expect(plain[1]?.body).toEqual({
      rightAfter: { has: false, type: 'undefined', same: false },
      inCallback: { has: false, type: 'undefined', same: false, error: '' },
    });
  });

  it('destroy() and a new session made in the same request', async () => {
    await expectSameAsPlain({}, ['/write', '/destroy-and-generate', '/read']);
  });

  it('reload()', async () => {
    await expectSameAsPlain({}, ['/write', '/reload', '/read']);
  });

  it.each([true, false])('resave: %s', async (resave) => {
    await expectSameAsPlain({ resave }, ['/write', '/read', '/read', '/write', '/read']);
  });

  it.each([true, false])('rolling: %s, with and without maxAge', async (rolling) => {
    await expectSameAsPlain({ rolling }, ['/write', '/read', '/write', '/read']);
    await expectSameAsPlain({ rolling, cookie: { maxAge: 60_000 } }, [
      '/write',
      '/read',
      '/write',
      '/read',
    ]);
  });

  it.each(['destroy', 'keep'] as const)(
    "unset: '%s', with req.session = null and delete req.session",
    async (unset) => {
      await expectSameAsPlain({ unset }, [
        '/write',
        '/unset',
        '/write',
        '/read',
        '/delete',
        '/write',
        '/read',
      ]);
    },
  );

  it('saveUninitialized: true', async () => {
    await expectSameAsPlain({ saveUninitialized: true }, [
      '/read',
      '/read',
      '/regenerate',
      '/destroy',
      '/read',
    ]);
  });
});

describe('the documented difference', () => {
  it('with saveUninitialized: false, a tokened landing is saved and gets its cookie', async () => {
    const steps = ['/read', '/read'];
    const plain = await transcript(false, {}, steps);
    const withCapture = await transcript(true, {}, steps);
    expect(plain.exchanges[0]).toMatchObject({ cookie: null });
    expect(withCapture.exchanges[0]?.cookie).toMatch(/^sid=s1/);
    expect(withCapture.exchanges[0]?.store).toContainEqual(
      expect.objectContaining({ call: 'set', session: 's1' }),
    );
    // Apart from that first save and cookie, the body the route saw is the same.
    expect(withCapture.exchanges.map((e) => e.body)).toEqual(plain.exchanges.map((e) => e.body));
  });
});
