import express, { type Express, type RequestHandler } from 'express';
import session from 'express-session';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import request from 'supertest';
import { createSovendus, type Sovendus, type SovendusOptions } from '../src/index.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { connectTestRedis, type TestRedis } from './support/redis.js';
import { API_KEY, describeResult, freshTestToken, PRODUCT_ID } from './support/shop.js';

let redis: TestRedis;
let api: FakeSovendusApi;
beforeAll(async () => {
  redis = connectTestRedis();
  api = await startFakeSovendusApi({ apiKey: API_KEY });
});
afterAll(async () => {
  await api.close();
  await redis.close();
});

const THIRTY_DAYS_MS = 2_592_000_000;

function sovendusFor(options: Partial<SovendusOptions> = {}): Sovendus {
  return createSovendus({
    productId: PRODUCT_ID,
    apiKey: API_KEY,
    apiBaseUrl: api.url,
    store: redis.store,
    ...options,
  });
}

/**
 * A shop with a login that changes the session id, the way careful shops and Passport do:
 * `login` runs before the login route answers, `before` after the capture on every request.
 */
function shopWithLogin(login: RequestHandler, before: RequestHandler[] = []) {
  const sovendus = sovendusFor();
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.use(
    session({
      secret: 's',
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: THIRTY_DAYS_MS },
    }),
  );
  app.use(sovendus.capture());
  for (const middleware of before) app.use(middleware);
  app.post('/login', login, (_req, res) => {
    res.send('logged in');
  });
  app.post('/checkout', sovendus.convert(), (_req, res) => {
    res.json(describeResult(res.locals.sovendus));
  });
  app.get('/{*path}', (_req, res) => {
    res.send('page');
  });
  return app;
}

/** A login that regenerates the session and then writes the user into the new one. */
const regenerating: RequestHandler = (req, _res, next) => {
  req.session.regenerate(() => {
    (req.session as unknown as { user: string }).user = 'ada';
    next();
  });
};

function sessionCookie(response: request.Response): string | undefined {
  const cookies = response.headers['set-cookie'] as string[] | undefined;
  return /connect\.sid=([^;]+)/.exec(cookies?.join(';') ?? '')?.[1];
}

async function landLoginAndCheckout(app: Express) {
  const token = freshTestToken();
  const visitor = request.agent(app);
  const landing = await visitor.get(`/landing?sovReqToken=${token}`).expect(200);
  const login = await visitor
    .post('/login')
    .type('form')
    .send({ username: 'ada', password: 'x' })
    .expect(200, 'logged in');
  expect(sessionCookie(login)).toBeDefined();
  expect(sessionCookie(login)).not.toBe(sessionCookie(landing)); // a new session id
  const checkout = await visitor.post('/checkout').expect(200);
  return { token, result: checkout.body as { status: string; token?: string } };
}

describe('a token captured before the session id changes', () => {
  it('still converts after req.session.regenerate() at login', async () => {
    const { token, result } = await landLoginAndCheckout(shopWithLogin(regenerating));
    expect(result).toMatchObject({ status: 'sent', token });
  });

  it('still converts after a Passport login (which regenerates the session)', async () => {
    passport.use(
      new LocalStrategy((username, _password, done) => {
        done(null, { username });
      }),
    );
    passport.serializeUser((user, done) => {
      done(null, (user as { username: string }).username);
    });
    passport.deserializeUser((username: string, done) => {
      done(null, { username });
    });
    const app = shopWithLogin(passport.authenticate('local') as RequestHandler, [
      passport.session() as RequestHandler,
    ]);
    const { token, result } = await landLoginAndCheckout(app);
    expect(result).toMatchObject({ status: 'sent', token });
  });

  it('still converts after destroy() and a new session in the same request', async () => {
    const app = shopWithLogin((req, _res, next) => {
      req.session.destroy(() => {
        req.sessionStore.generate(req);
        (req.session as unknown as { user: string }).user = 'ada';
        next();
      });
    });
    const { token, result } = await landLoginAndCheckout(app);
    expect(result).toMatchObject({ status: 'sent', token });
  });

  it('still converts after two regenerations in one request', async () => {
    const twice: RequestHandler = (req, res, next) => {
      regenerating(req, res, () => {
        regenerating(req, res, next);
      });
    };
    const { token, result } = await landLoginAndCheckout(shopWithLogin(twice));
    expect(result).toMatchObject({ status: 'sent', token });
  });

  it('finds the token later in the request that regenerated the session', async () => {
    const token = freshTestToken();
    const app = shopWithLogin((req, res, next) => {
      req.session.regenerate(() => {
        void req.sovendus.getToken().then((found) => {
          res.setHeader('x-token', found ?? 'none');
          next();
        });
      });
    });
    const visitor = request.agent(app);
    await visitor.get(`/landing?sovReqToken=${token}`).expect(200);
    const login = await visitor.post('/login').expect(200, 'logged in');
    expect(login.headers['x-token']).toBe(token);
    expect((await visitor.post('/checkout')).body).toMatchObject({ status: 'sent', token });
  });

  it('lets a newer click after login replace the token, as before', async () => {
    const visitor = request.agent(shopWithLogin(regenerating));
    await visitor.get(`/?sovReqToken=${freshTestToken()}`);
    await visitor.post('/login');
    const newer = freshTestToken();
    await visitor.get(`/?sovReqToken=${newer}`);
    expect((await visitor.post('/checkout')).body).toMatchObject({ status: 'sent', token: newer });
  });

  it('does not hand a token to a session that never had one', async () => {
    const visitor = request.agent(shopWithLogin(regenerating));
    await visitor.get('/');
    await visitor.post('/login');
    expect((await visitor.post('/checkout')).body).toEqual({ status: 'no_token' });
  });
});

describe('the session cookie lifetime', () => {
  function landWith(cookie: session.CookieOptions) {
    const warnings: string[] = [];
    const sovendus = sovendusFor({
      logger: { warn: (_fields: object, message: string) => warnings.push(message) },
    });
    const app = express();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false, cookie }));
    app.use(sovendus.capture());
    app.get('/', (_req, res) => res.send('page'));
    return { app, warnings };
  }

  it('warns once when the session cookie would expire before the token', async () => {
    const { app, warnings } = landWith({ maxAge: 24 * 3600 * 1000 });
    await request(app).get(`/?sovReqToken=${freshTestToken()}`);
    await request(app).get(`/?sovReqToken=${freshTestToken()}`);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('the session cookie expires before the Sovendus token');
  });

  it('warns about a browser-session cookie (no maxAge), which dies with the browser', async () => {
    const { app, warnings } = landWith({});
    await request(app).get(`/?sovReqToken=${freshTestToken()}`);
    expect(warnings).toHaveLength(1);
  });

  it('stays quiet when the cookie lives as long as the token', async () => {
    const { app, warnings } = landWith({ maxAge: THIRTY_DAYS_MS });
    await request(app).get(`/?sovReqToken=${freshTestToken()}`);
    expect(warnings).toEqual([]);
  });
});
