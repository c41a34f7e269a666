import { randomUUID } from 'node:crypto';
import type { ConversionResult, RedemptionResult } from 'sovendus-express';

export interface OrderLine {
  productId: string;
  quantity: number;
}

export interface Order {
  id: string;
  lines: OrderLine[];
  totalCents: number;
  customerName: string;
  /**
   * Sovendus asks shops to keep the token with the order: it may need it later to find the
   * conversion for a cancellation, and a payment webhook can resend it with sendConversion().
   */
  sovendusToken: string | undefined;
  sovendus: ConversionResult;
  /**
   * When this order found no token because an earlier order of the same visit used it: that
   * order's id, so that the page says what happened rather than "not from Sovendus".
   */
  tokenUsedBy: string | undefined;
  /** What became of each voucher code the customer entered: none, none reported. */
  redemptions: RedemptionResult[];
}

/** A shop's order table, in memory for the example. */
export class OrderBook {
  readonly #orders = new Map<string, Order>();

  newId(): string {
    return randomUUID();
  }

  save(order: Order): void {
    this.#orders.set(order.id, order);
  }

  find(id: string): Order | undefined {
    return this.#orders.get(id);
  }
}
