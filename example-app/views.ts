import type { ConversionResult, RedemptionResult } from 'sovendus-express';
import { formatPrice, PRODUCTS, type Product } from './catalog';
import type { Order } from './orders';

/** Escapes text for HTML; every value that reaches a page goes through it. */
export function escapeHtml(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** Tokens are shown by their first 8 characters only, as Sovendus' own debug helper does. */
export function maskToken(token: string | undefined): string {
  return token === undefined ? 'none' : `${token.slice(0, 8)}…`;
}

export interface CartLine {
  product: Product;
  quantity: number;
}

const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 0 auto; padding: 1rem; color: #1d1d1f; }
  header { display: flex; justify-content: space-between; align-items: center; gap: 1rem; }
  header a { color: inherit; }
  .status { border: 1px solid #c7c7cc; border-radius: .5rem; padding: .25rem .75rem; background: #f5f5f7; font-size: .9rem; }
  .result { border-left: .35rem solid #8e8e93; padding: .5rem 1rem; background: #f5f5f7; margin-bottom: 1rem; }
  .result.sent { border-color: #248a3d; }
  .result.failed { border-color: #d70015; }
  .results { list-style: none; padding: 0; }
  ul.products { list-style: none; padding: 0; display: grid; gap: 1rem; }
  ul.products li { border: 1px solid #e5e5ea; border-radius: .5rem; padding: 1rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #e5e5ea; }
  label { display: block; margin: .5rem 0; }
  button { font: inherit; padding: .4rem 1rem; }
  .sovendus { display: flex; align-items: center; gap: .75rem; }
  form.forget button { padding: 0; border: 0; background: none; color: inherit; text-decoration: underline; cursor: pointer; font-size: .9rem; }
`;

export function layout(title: string, token: string | undefined, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Example shop</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <a href="/"><strong>Example shop</strong></a>
  <nav aria-label="Shop"><a href="/cart">Cart</a></nav>
  <div class="sovendus">
    <p class="status" role="status" data-testid="sovendus-status">Sovendus token: <strong>${escapeHtml(maskToken(token))}</strong></p>
    <form method="post" action="/forget" class="forget"><button type="submit">Forget me</button></form>
  </div>
</header>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>`;
}

export function landingPage(): string {
  const items = PRODUCTS.map(
    (product) => `<li>
  <h2><a href="/products/${escapeHtml(product.id)}">${escapeHtml(product.name)}</a></h2>
  <p>${escapeHtml(product.description)}</p>
  <p>${escapeHtml(formatPrice(product.priceCents))}</p>
</li>`,
  ).join('\n');
  return `<p>Welcome! Everything here is a demo: no money changes hands.</p>
<ul class="products">${items}</ul>`;
}

export function productPage(product: Product): string {
  return `<p>${escapeHtml(product.description)}</p>
<p>${escapeHtml(formatPrice(product.priceCents))}</p>
<form method="post" action="/cart">
  <input type="hidden" name="productId" value="${escapeHtml(product.id)}">
  <label>Quantity <input type="number" name="quantity" value="1" min="1" max="99" required></label>
  <button type="submit">Add to cart</button>
</form>`;
}

function cartTable(lines: readonly CartLine[]): string {
  const rows = lines
    .map(
      ({ product, quantity }) =>
        `<tr><td>${escapeHtml(product.name)}</td><td>${quantity}</td><td>${escapeHtml(formatPrice(product.priceCents * quantity))}</td></tr>`,
    )
    .join('\n');
  const total = lines.reduce((sum, line) => sum + line.product.priceCents * line.quantity, 0);
  return `<table>
<thead><tr><th scope="col">Product</th><th scope="col">Quantity</th><th scope="col">Price</th></tr></thead>
<tbody>${rows}</tbody>
<tfoot><tr><th scope="row" colspan="2">Total</th><td>${escapeHtml(formatPrice(total))}</td></tr></tfoot>
</table>`;
}

export function cartPage(lines: readonly CartLine[]): string {
  if (lines.length === 0) return '<p>Your cart is empty. <a href="/">Find something nice.</a></p>';
  return `${cartTable(lines)}
<p><a href="/checkout">Go to checkout</a></p>`;
}

/** `voucher`: the code of the Sovendus voucher link the visitor came by, pre-filled. */
export function checkoutPage(lines: readonly CartLine[], voucher?: string): string {
  if (lines.length === 0) return cartPage(lines);
  return `${cartTable(lines)}
<form method="post" action="/checkout">
  <label>Your name <input name="name" autocomplete="name" required></label>
  <label>E-mail (optional) <input name="email" type="email" autocomplete="email"></label>
  <label>Voucher code (optional) <input name="voucher" autocomplete="off" value="${escapeHtml(voucher ?? '')}"></label>
  <button type="submit">Place order</button>
</form>`;
}

/**
 * What became of the conversion, in words a shop owner can act on. `tokenUsedBy`: the earlier
 * order of the same visit that used the token, when this one found none.
 */
export function describeConversion(
  result: ConversionResult,
  tokenUsedBy?: string,
): { title: string; detail: string } {
  if (result.status === 'no_token' && tokenUsedBy !== undefined) {
    return {
      title: 'Sovendus token already used',
      detail: `This visit's Sovendus token was already used by order ${tokenUsedBy}: a token counts one sale, so there was nothing to report for this order.`,
    };
  }
  switch (result.status) {
    case 'sent':
      return {
        title: 'Sovendus conversion sent',
        detail: `Sovendus accepted the conversion for token ${maskToken(result.token)} after ${result.attempts} attempt(s).`,
      };
    case 'no_token':
      return {
        title: 'No Sovendus token',
        detail:
          'This visit did not come from Sovendus (no sovReqToken was captured), so there was nothing to report.',
      };
    case 'duplicate':
      return {
        title: 'Already converted',
        detail: 'This order or token was already reported to Sovendus; nothing was sent twice.',
      };
    case 'queued':
      return {
        title: 'Sovendus conversion queued',
        detail: `Sovendus could not take it right now (${result.error.message}); it waits in the queue and will be sent later, once.`,
      };
    case 'failed':
      return {
        title: `Sovendus conversion not sent (${result.error.code})`,
        detail: `${result.error.message}${result.error.retryable ? ' The token is kept, and the next try can still send it.' : ''}`,
      };
  }
}

/** What became of the voucher code's report. */
export function describeRedemption(result: RedemptionResult): { title: string; detail: string } {
  const code = result.couponCode ?? 'The code';
  switch (result.status) {
    case 'sent':
      return {
        title: 'Voucher code reported',
        detail: `Sovendus received the redemption of ${code} after ${result.attempts} attempt(s); it decides whether the code was one of theirs.`,
      };
    case 'duplicate':
      return {
        title: 'Voucher code already reported',
        detail: `${code} was already reported for this order; nothing was sent twice.`,
      };
    case 'queued':
      return {
        title: 'Voucher code report queued',
        detail: `Sovendus could not take it right now (${result.error.message}); it will be sent later, once.`,
      };
    case 'failed':
      return {
        title: `Voucher code not reported (${result.error.code})`,
        detail: result.error.message,
      };
  }
}

function resultSection(id: string, status: string, title: string, detail: string): string {
  return `<section class="result ${escapeHtml(status)}" aria-labelledby="${id}" data-testid="${id}">
  <h2 id="${id}">${escapeHtml(title)}</h2>
  <p>${escapeHtml(detail)}</p>
</section>`;
}

/** One line per voucher code of the order: the code, its status, and what that means. */
function redemptionList(redemptions: readonly RedemptionResult[]): string {
  if (redemptions.length === 0) return '';
  const items = redemptions.map((result) => {
    const { title, detail } = describeRedemption(result);
    return `  <li class="result ${escapeHtml(result.status)}" data-testid="voucher-result">
    <h2><code>${escapeHtml(result.couponCode ?? '?')}</code> <span class="status">${escapeHtml(result.status)}</span>: ${escapeHtml(title)}</h2>
    <p>${escapeHtml(detail)}</p>
  </li>`;
  });
  return `<ul class="results" aria-label="Voucher codes" data-testid="voucher-results">
${items.join('\n')}
</ul>`;
}

export function thankYouPage(order: Order): string {
  const conversion = describeConversion(order.sovendus, order.tokenUsedBy);
  return `<p>Thank you, ${escapeHtml(order.customerName)}! Your order <code>${escapeHtml(order.id)}</code> of ${escapeHtml(formatPrice(order.totalCents))} is confirmed.</p>
${resultSection('sovendus-result', order.sovendus.status, conversion.title, conversion.detail)}
${redemptionList(order.redemptions)}
<p><a href="/">Back to the shop</a></p>`;
}

export function notFoundPage(): string {
  return '<p>There is nothing here. <a href="/">Back to the shop</a></p>';
}

/** The 503 page when sessions cannot be read or saved. */
export function sessionsDownPage(): string {
  return '<p>The shop cannot reach its session store (Redis), where carts live. Please try again in a moment.</p>';
}

/** The 500 page for anything else that failed. */
export function serverErrorPage(): string {
  return '<p>Something went wrong on our side. Please try again, or <a href="/">go back to the shop</a>.</p>';
}
