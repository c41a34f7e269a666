import { ENV_SETTINGS, SETTINGS } from '../config/settings.js';

/*
 * The package's errors name options (`the apiBaseUrl option`, `coupons.trafficSourceNumber`),
 * which is right for a shop that calls createSovendus. The doctor reads variables, and its
 * report, which lists them, must name those instead: one sentence never mixes the two.
 */

/** The options a message can name, and the variables that set them. */
const VARIABLE_OF_OPTION = new Map<string, string>([
  ...ENV_SETTINGS.flatMap((setting) =>
    'option' in setting ? [[setting.option, setting.env] as const] : [],
  ),
  // The coupon API's 404 speaks of the number by its own name, without `coupons.`.
  ['trafficSourceNumber', SETTINGS.couponTrafficSourceNumber.env],
  ['trafficMediumPublicId', SETTINGS.couponTrafficMediumPublicId.env],
]);

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Per option: "the X option" (and "VAR / the X option", where a message names both) or X alone,
 * never X inside a longer name (`apiBaseUrl` in `coupons.apiBaseUrl`).
 */
const REWRITES = [...VARIABLE_OF_OPTION].map(([option, variable]) => ({
  pattern: new RegExp(
    `(?:${variable} / )?\\bthe ${escape(option)} option\\b|(?<![\\w.])${escape(option)}(?!\\w)`,
    'g',
  ),
  variable,
}));

const rewrite = (text: string) =>
  REWRITES.reduce((rewritten, { pattern, variable }) => rewritten.replace(pattern, variable), text);

/**
 * `message` with every option it names replaced by its environment variable, except inside
 * `quoted` (what Sovendus answered, which the message quotes): that is shown as it was said.
 */
export function inVariableTerms(message: string, quoted?: string): string {
  if (quoted === undefined || quoted === '') return rewrite(message);
  return message.split(quoted).map(rewrite).join(quoted);
}
