import { isProductId } from '../config/fields.js';
import { ENV_SETTINGS, type Shown } from '../config/settings.js';
import { cutSecretPieces } from '../secret-pieces.js';

/*
 * What the doctor may print of the environment. Its report is made to be pasted into a
 * ticket or a chat, so it must hold no secret, in any line: the API key, in its own variable
 * or in another one by mistake, and credentials in a URL.
 */

export const MASK = '••••';

/** The key's last 4 characters, as Sovendus' own debug helper shows it; nothing of a short key. */
export function maskApiKey(key: string): string {
  return key.length > 8 ? `${MASK}${key.slice(-4)}` : MASK;
}

/**
 * A UUID setting as it may be shown: itself, or masked like a key when it is not a UUID. The
 * likeliest reason for that is the API key and the product id set in each other's variables.
 */
export function maskUnlessUuid(value: string): string {
  return isProductId(value)
    ? value
    : `${maskApiKey(value)} (not a UUID: masked, it may be the API key)`;
}

/** The items of a comma-separated list, trimmed. */
const itemsOf = (list: string): string[] => list.split(',').map((item) => item.trim());

/**
 * A URL as it may be shown: its user name and password masked, and the value of every query
 * parameter (ioredis reads `?password=` too). Built by hand: `URL` would percent-encode the mask.
 */
export function maskUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(not a URL)';
  }
  const { protocol, username, password, host, pathname, searchParams } = parsed;
  const userinfo =
    username === '' && password === ''
      ? ''
      : `${username === '' ? '' : MASK}${password === '' ? '' : `:${MASK}`}@`;
  const query = [...searchParams.keys()].map((name) => `${name}=${MASK}`).join('&');
  const path = pathname === '/' ? '' : pathname;
  return `${protocol}//${userinfo}${host}${path}${query === '' ? '' : `?${query}`}`;
}

/** How each kind of setting is shown (see `Shown` in the table of settings). */
export const SHOW: Record<Shown, (value: string) => string> = {
  'as is': (value) => value,
  secret: maskApiKey,
  uuid: maskUnlessUuid,
  uuids: (value) => itemsOf(value).map(maskUnlessUuid).join(', '),
  url: maskUrl,
};

/** The secrets a doctor line might echo, found in the environment. */
export interface EnvSecrets {
  /**
   * The API key, and a UUID setting that is not a UUID (it may be the key): cut out in any
   * form (see secret-pieces).
   */
  keys: string[];
  /** Credentials in URLs: cut out as they are, and percent-decoded. */
  exact: string[];
}

/** Query parameters whose values are credentials (ioredis reads `?password=`). */
const CREDENTIAL_PARAM = /pass|pwd|secret|token|key|auth|cred/i;

/**
 * The secrets of a URL's userinfo and query. A user name beside a password names a user (often
 * `default`, a word the report uses), and is masked in the URL alone; a lone user name may be
 * the password (`redis://secret@host`), and is cut from every line.
 */
function credentialsIn(url: string): string[] {
  if (!URL.canParse(url)) return [];
  const { username, password, searchParams } = new URL(url);
  const params = [...searchParams].filter(([name]) => CREDENTIAL_PARAM.test(name));
  const userinfo = password === '' ? [username] : [password];
  return [...userinfo, ...params.map(([, value]) => value)].flatMap((value) => {
    let decoded = value;
    try {
      decoded = decodeURIComponent(value);
    } catch {
      // Not percent-encoded after all: the value as it is.
    }
    return [value, decoded];
  });
}

/** The secrets of `env` that a line of the report might echo. */
export function secretsOf(env: Record<string, string | undefined>): EnvSecrets {
  const valuesShown = (shown: Shown) =>
    ENV_SETTINGS.filter((setting) => setting.shown === shown).flatMap((setting) => {
      const value = env[setting.env];
      return value === undefined || value === '' ? [] : [value];
    });
  return {
    keys: [
      ...valuesShown('secret'),
      ...[...valuesShown('uuid'), ...valuesShown('uuids').flatMap(itemsOf)].filter(
        (value) => value !== '' && !isProductId(value),
      ),
    ],
    // Cutting a very short value would maim every line that holds it, and hides little.
    exact: valuesShown('url')
      .flatMap(credentialsIn)
      .filter((value) => value.length >= 3),
  };
}

/** Any line of the report, with every secret of the environment cut out. */
export function maskSecrets(text: string, secrets: EnvSecrets): string {
  let masked = cutSecretPieces(text, secrets.keys, MASK);
  for (const secret of secrets.exact) masked = masked.split(secret).join(MASK);
  return masked;
}
