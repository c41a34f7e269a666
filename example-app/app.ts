import express, { type Request } from 'express';
import session, { type Store } from 'express-session';
import type { Sovendus } from 'sovendus-express';
import { CURRENCY, findProduct } from './catalog';
import { errorPage, sessionsWithMarkedErrors } from './error-page';
import { OrderBook } from './orders';
import {
  cartPage,
  checkoutPage,
  landingPage,
  layout,
  notFoundPage,
  productPage,
  thankYouPage,
  type CartLine,
} from './views';

declare module 'express-session' {
  interface SessionData {
    /** Quantities by product id. */
    cart?: Record<string, number>;
    /** The order whose conversion took this visit's Sovendus token: a token counts one sale. */
    sovendusOrderId?: string;
  }
}

export interface ExampleShopOptions {
  sovendus: Sovendus;
  sessionSecret: string;
  /** Where sessions live; default: express-session's memory store. */
  sessionStore?: Store | undefined;
  /**
   * How long a session lives, in milliseconds. It must be at least the token's lifetime (30
   * days by default): when the session ends first, the captured token goes with it.
   */
  sessionMaxAgeMs: number;
}

/** A trimmed form field; form fields are strings, or arrays when repeated: anything else is not one. */
function formField(body: unknown, name: string): string {
  const value: unknown = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value.trim().slice(0, 100) : '';
}

function cartLines(req: Request): CartLine[] {
  return Object.entries(req.session.cart ?? {}).flatMap(([productId, quantity]) => {
    const product = findProduct(productId);
    return product ? [{ product, quantity }] : [];
  });
}

/** A small shop that uses sovendus-express the way the README says. */
export function createExampleShop(options: ExampleShopOptions) {
  const { sovendus, sessionSecret, sessionStore, sessionMaxAgeMs } = options;
  const orders = new OrderBook();
  const app = express();

  // Browsers ask for it on every page: before the session, so that asking costs no lookup.
  app.get('/favicon.ico', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=86400').status(204).end();
  });
  app.use(express.urlencoded({ extended: false, limit: '10kb' }));
  app.use(
    sessionsWithMarkedErrors(
      session({
        secret: sessionSecret,
        store: sessionStore,
        resave: false,
        saveUninitialized: false,
        cookie: { maxAge: sessionMaxAgeMs, httpOnly: true, sameSite: 'lax' },
      }),
    ),
  );
  app.use(sovendus.capture());

  const render = async (req: Request, title: string, body: string) =>
    layout(title, await req.sovendus.getToken(), body);

  app.get('/', async (req, res) => {
    res.send(await render(req, 'Welcome', landingPage()));
  });

  app.get('/products/:id', async (req, res) => {
    const product = findProduct(req.params.id);
    if (!product) {
      res.status(404).send(await render(req, 'Not found', notFoundPage()));
      return;
    }
    res.send(await render(req, product.name, productPage(product)));
  });

  app.post('/cart', (req, res) => {
    const { productId, quantity } = req.body as { productId?: unknown; quantity?: unknown };
    const count = typeof quantity === 'string' ? Number(quantity) : 1;
    const product = typeof productId === 'string' ? findProduct(productId) : undefined;
    if (product && Number.isInteger(count) && count >= 1 && count <= 99) {
      const cart = req.session.cart ?? {};
      cart[product.id] = Math.min(99, (cart[product.id] ?? 0) + count);
      req.session.cart = cart;
    }
    res.redirect(303, '/cart');
  });

  app.get('/cart', async (req, res) => {
    res.send(await render(req, 'Your cart', cartPage(cartLines(req))));
  });

  app.get('/checkout', async (req, res) => {
    // The code of the Sovendus voucher link the visitor came by, if any: the field shows it,
    // and the customer may change it. completeOrder() redeems it whatever the form says.
    const voucher = await req.sovendus.getCouponCode();
    res.send(await render(req, 'Checkout', checkoutPage(cartLines(req), voucher)));
  });

  // "Forget me": the visitor's Sovendus token and voucher code go, and the browser script's
  // cookies expire. A form, not a link: browsers may prefetch links.
  app.post('/forget', async (req, res) => {
    await req.sovendus.forget();
    res.redirect(303, '/');
  });

  app.post('/checkout', async (req, res) => {
    const lines = cartLines(req);
    const name = formField(req.body, 'name');
    if (lines.length === 0 || name === '') {
      res.redirect(303, '/checkout');
      return;
    }
    const orderId = orders.newId();
    const totalCents = lines.reduce(
      (sum, line) => sum + line.product.priceCents * line.quantity,
      0,
    );
    const email = formField(req.body, 'email');
    // The conversion and the voucher code together; it never rejects: whatever happens at
    // Sovendus, the order goes through. An empty voucher field is no code.
    const { conversion, redemptions } = await req.sovendus.completeOrder({
      orderId,
      couponCodes: [formField(req.body, 'voucher')],
      // Net value: the example's prices are net already.
      orderValue: (totalCents / 100).toFixed(2),
      orderCurrency: CURRENCY,
      email: email === '' ? undefined : email,
    });
    const tokenUsedBy = conversion.status === 'no_token' ? req.session.sovendusOrderId : undefined;
    if (conversion.status !== 'no_token') req.session.sovendusOrderId = orderId;
    orders.save({
      id: orderId,
      lines: lines.map(({ product, quantity }) => ({ productId: product.id, quantity })),
      totalCents,
      customerName: name,
      sovendusToken: conversion.status === 'no_token' ? undefined : conversion.token,
      sovendus: conversion,
      tokenUsedBy,
      redemptions,
    });
    req.session.cart = {};
    res.redirect(303, `/orders/${orderId}`);
  });

  app.get('/orders/:id', async (req, res) => {
    const order = orders.find(req.params.id);
    if (!order) {
      res.status(404).send(await render(req, 'Not found', notFoundPage()));
      return;
    }
    res.send(await render(req, 'Thank you for your order', thankYouPage(order)));
  });

  app.use(async (req, res) => {
    res.status(404).send(await render(req, 'Not found', notFoundPage()));
  });
  app.use(errorPage);

  return app;
}
