export interface Product {
  id: string;
  name: string;
  description: string;
  priceCents: number;
}

export const PRODUCTS: readonly Product[] = [
  {
    id: 'mug',
    name: 'Enamel mug',
    description: 'Keeps coffee warm for exactly as long as a meeting should last.',
    priceCents: 1_490,
  },
  {
    id: 'notebook',
    name: 'Dot-grid notebook',
    description: '120 pages for plans, sketches and integration checklists.',
    priceCents: 990,
  },
  {
    id: 'socks',
    name: 'Merino socks',
    description: 'Warm feet, clear head.',
    priceCents: 1_790,
  },
];

export function findProduct(id: string): Product | undefined {
  return PRODUCTS.find((product) => product.id === id);
}

/** The shop's one currency (ISO 4217). */
export const CURRENCY = 'EUR';

export function formatPrice(cents: number): string {
  return new Intl.NumberFormat('en-IE', { style: 'currency', currency: CURRENCY }).format(
    cents / 100,
  );
}
