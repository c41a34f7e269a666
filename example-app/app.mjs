// A small shop that uses sovendus-express exactly as the README says: sessions, capture on every
// request, and the conversion completed at checkout.
import express from 'express';
import session from 'express-session';

const escape = (text) => String(text).replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

function page(title, tokenStatus, body) {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escape(title)} · Example shop</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
.status{border:1px solid #ccc;border-radius:.5rem;padding:.5rem 1rem;background:#f7f7f7}</style></head>
<body>
<header><a href="/">Example shop</a></header>
<p class="status" role="status">Sovendus token for this visit: <strong>${escape(tokenStatus)}</strong></p>
<main><h1>${escape(title)}</h1>${body}</main>
</body>
</html>`;
}

const masked = (token) => (token ? `${token.slice(0, 8)}…` : 'none');

/** What a shop owner should read about each conversion result. */
export function describeConversion(result) {
  switch (result?.status) {
    case 'sent':
      return `Conversion sent to Sovendus (token ${masked(result.token)}, ${result.attempts} attempt(s)).`;
    case 'no_token':
      return 'No Sovendus token in this session: the visitor did not come from Sovendus.';
    case 'duplicate':
      return 'This order or token was already converted: nothing was sent twice.';
    case 'failed':
      return `Not sent: ${result.error.message} (code ${result.error.code}${result.error.retryable ? ', will work again later' : ''}).`;
    default:
      return 'No conversion was attempted.';
  }
}

export function createExampleShop({ sovendus, sessionSecret }) {
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.use(
    session({
      secret: sessionSecret,
      resave: false,
      saveUninitialized: false,
      // The session must outlive the Sovendus token (30 days), or the token is lost with it.
      cookie: { maxAge: 30 * 24 * 3600 * 1000, httpOnly: true, sameSite: 'lax' },
    }),
  );
  app.use(sovendus.capture());

  app.get('/', async (req, res) => {
    res.send(
      page(
        'Welcome',
        masked(await req.sovendus.getToken()),
        `<p>Our one product: a very good mug.</p>
<form method="post" action="/checkout"><button type="submit">Buy the mug</button></form>`,
      ),
    );
  });

  app.post('/checkout', sovendus.convert(), (_req, res) => {
    const result = res.locals.sovendus;
    res.send(
      page('Thank you for your order', 'none', `<p>${escape(describeConversion(result))}</p>`),
    );
  });

  return app;
}
