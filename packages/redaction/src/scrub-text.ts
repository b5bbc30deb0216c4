/**
 * `scrubText(text)`: masks secrets inside free text such as a log line from a Python worker.
 *
 * Every pattern is compiled once per scrubber, and a cheap `includes` check skips patterns that
 * cannot match, because this runs on every log line.
 */
import {
  escapeRegExp,
  hasAnywhereTerm,
  textKeySource,
  type SensitiveKeyOptions,
} from './sensitive-keys.js';

/** The mask used when none is given. */
export const defaultMask = '[REDACTED]';

export interface ScrubTextOptions {
  /** Replaces each secret. Default `"[REDACTED]"`. */
  mask?: string;
  /** Extra sensitive keys for `key=value` forms, added to the defaults (see `isSensitiveKey`). */
  sensitiveKeys?: SensitiveKeyOptions['sensitiveKeys'];
}

/** A scrubber compiled for one set of options. */
export type TextScrubber = (text: string) => string;

/**
 * A PEM private key, replaced whole. A block cut off before its END line (a truncated log line) is
 * masked to the end of the text rather than left half-printed.
 */
const privateKeyBlockPattern =
  /-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g;

/**
 * Tokens recognisable by shape alone. The public prefix (`ghp_`, `xoxb-`, `AKIA`) is kept so a
 * reader knows what kind of credential leaked; a JWT is replaced whole.
 */
const tokenShapePattern = new RegExp(
  [
    String.raw`\b(gh[pousr]_)[A-Za-z0-9]{36,255}`, // GitHub classic tokens
    String.raw`\b(github_pat_)[A-Za-z0-9_]{22,255}`, // GitHub fine-grained tokens
    String.raw`\b(xox[abposr]-)[A-Za-z0-9-]{10,}`, // Slack
    String.raw`\b((?:sk|rk)_(?:live|test)_)[A-Za-z0-9]{10,}`, // Stripe secret and restricted keys
    String.raw`\b(whsec_)[A-Za-z0-9+/=]{20,}`, // webhook signing secrets
    String.raw`\b(sk-)[A-Za-z0-9_-]{20,}`, // OpenAI and Anthropic style API keys
    String.raw`\b(AKIA|ASIA)[A-Z0-9]{16}\b`, // AWS access key ids
    String.raw`\b(AIza)[A-Za-z0-9_-]{35}`, // Google API keys
    String.raw`\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*`, // JWTs
  ].join('|'),
  'g',
);

/** A cheap non-global test that lets most lines skip the costlier bearer pattern. */
const mentionsBearer = /bearer/i;

/** HTTP authentication schemes, kept in front of the masked credential. */
const schemeSource = String.raw`(?:bearer|basic|digest|negotiate|token)[ \t]+`;

/** Prose that merely mentions a key (`session: started`) is left alone unless the value looks random. */
function looksSecret(value: string): boolean {
  return value.length >= 20 || (value.length >= 8 && /\d/.test(value));
}

const doubleQuotedSource = String.raw`"(?:[^"\\\r\n]|\\.)*"`;
const singleQuotedSource = String.raw`'(?:[^'\\\r\n]|\\.)*'`;
/** Python's string prefixes: a repr of bytes is `b'...'`, and source lines may hold `r'...'` or `f'...'`. */
const stringPrefixSource = '[bBrRuUfF]{1,2}';

/**
 * A bracketed value (`('user', 'pw')`, `{'pin': '1234'}`, `['k1', 'k2']`) nested up to `depth`
 * levels, with quoted strings inside read as strings so a bracket within one does not end it.
 * Python reprs print credentials this way (`auth=('user', 'pw')`); deeper nesting falls through to
 * the unclosed-value rule, which masks to the end of the line.
 */
function bracketedSource(depth: number): string {
  const nested = depth > 1 ? `|${bracketedSource(depth - 1)}` : '';
  return (
    String.raw`[(\[{](?:${singleQuotedSource}|${doubleQuotedSource}${nested}|[^'"()\[\]{}\r\n])*[)\]}]`
  );
}

/** Builds a scrubber for `options`. Reuse the result: building compiles several patterns. */
export function createTextScrubber(options?: ScrubTextOptions): TextScrubber {
  const mask = options?.mask ?? defaultMask;
  const notMasked = `(?!${escapeRegExp(mask)})`;
  // `$` in a mask must not be read as a replacement-pattern reference.
  const maskReplacement = mask.replace(/\$/g, '$$$$');
  const keySource = textKeySource(options);

  // `scheme://user:password@host`: the password goes, the user and host stay.
  const urlPasswordPattern = new RegExp(
    String.raw`\b([a-z][a-z0-9+.\-]*://[^\s:@/?#]*:)${notMasked}[^\s@/?#]+@`,
    'gi',
  );
  // A Cookie header holds several `name=value` pairs; all of them go, up to the end of the line.
  const cookieHeaderPattern = new RegExp(
    String.raw`(?<![\w.\-])((?:set-)?cookie[ \t]*:[ \t]*)${notMasked}[^\s"'\\][^\r\n]*`,
    'gi',
  );
  // Groups: 1 key, 2 separator, 3 the opening of a JSON-escaped value, 4-5 a string prefix and a
  // quoted value, 6-7 a callee and a bracketed value, 8 an auth scheme, 9 an unclosed value.
  // `key=value`, `key: value`, `"key": "value"`, `'key': b'value'`, JSON escaped inside a string
  // (`\"key\":\"value\"`), and Python reprs whose value is a tuple, list, dict or call
  // (`'auth': ('user', 'pw')`, `password=Secret('pw')`). A quote or bracket that never closes on
  // the line masks the rest of it: half a secret is still a secret.
  const keyValuePattern = new RegExp(
    `(${keySource})(\\\\?["']?[ \\t]*[:=][ \\t]*)${notMasked}` +
      String.raw`(?:(\\")(?:(?!\\")[^\r\n])*\\"` +
      `|(${stringPrefixSource})?(${doubleQuotedSource}|${singleQuotedSource})` +
      String.raw`|([A-Za-z_][\w.]*)?(${bracketedSource(3)})` +
      // A scheme, when present, must be taken, so an already masked credential is not re-read
      // as `Bearer` followed by a fresh value.
      `|(?:(${schemeSource})|(?!${schemeSource}))${notMasked}` +
      // Not an opening bracket: a container too deep to read here is an unclosed value.
      String.raw`(?![(\[{])[^\s,;&"'\\)\]}]+` +
      String.raw`|([(\[{"'][^\r\n]*))`,
    'gi',
  );
  // `('password', 'hunter2')`: a key and its value as a pair, as in `OrderedDict` reprs and header
  // lists (`[('Authorization', 'Basic ...')]`). Only inside parentheses, so a plain list of field
  // names (`['password', 'email']`) is left alone.
  const pairPattern = new RegExp(
    `(\\([ \\t]*)(["'])(${keySource})\\2([ \\t]*,[ \\t]*)${notMasked}` +
      `(${stringPrefixSource})?(${doubleQuotedSource}|${singleQuotedSource})`,
    'gi',
  );
  // A bearer token outside any `key: value`. It must look like a token (a digit, or 20+
  // characters) so that "the bearer of this letter" survives.
  const bearerPattern = new RegExp(
    String.raw`\b(bearer[ \t]+)${notMasked}(?=[\w\-.~+/]*\d|[\w\-.~+/]{20})[\w\-.~+/]{8,}=*`,
    'gi',
  );

  // Positional groups, not named ones: V8 matches this pattern about three times slower with names.
  const replaceKeyValue = (
    match: string,
    key: string,
    separator: string,
    escapedQuote: string | undefined,
    prefix: string | undefined,
    quoted: string | undefined,
    callee: string | undefined,
    bracketed: string | undefined,
    scheme: string | undefined,
  ): string => {
    if (escapedQuote !== undefined) return `${key}${separator}\\"${mask}\\"`;
    if (quoted !== undefined) {
      const quote = quoted[0]!;
      return `${key}${separator}${prefix ?? ''}${quote}${mask}${quote}`;
    }
    if (scheme !== undefined) return `${key}${separator}${scheme}${mask}`;
    // A bare `word: value` is how prose and logger names read too (`INFO:auth:user logged in`);
    // only keys naming a secret outright, or values that look random, are masked there.
    const value = match.slice(key.length + separator.length);
    const bareColon = !separator.includes('=') && !/["']/.test(separator);
    if (bareColon && !hasAnywhereTerm(key) && !looksSecret(value)) return match;
    if (bracketed !== undefined) {
      // The brackets stay, so the line still reads as the structure it was.
      return `${key}${separator}${callee ?? ''}${bracketed[0]}${mask}${bracketed[bracketed.length - 1]}`;
    }
    return `${key}${separator}${mask}`;
  };

  const replacePair = (
    _match: string,
    open: string,
    keyQuote: string,
    key: string,
    separator: string,
    prefix: string | undefined,
    quoted: string,
  ): string => `${open}${keyQuote}${key}${keyQuote}${separator}${prefix ?? ''}${quoted[0]}${mask}${quoted[0]}`;

  const replaceTokenShape = (_match: string, ...groups: unknown[]): string => {
    for (const group of groups) {
      if (typeof group === 'string') return `${group}${mask}`;
      // The groups come first, then the numeric offset: no prefix captured means a JWT.
      if (typeof group === 'number') break;
    }
    return mask;
  };

  return (text: string): string => {
    let result = text;
    if (result.includes('PRIVATE KEY')) {
      result = result.replace(privateKeyBlockPattern, maskReplacement);
    }
    if (result.includes('://')) {
      result = result.replace(urlPasswordPattern, `$1${maskReplacement}@`);
    }
    const hasSeparator = result.includes('=') || result.includes(':');
    if (hasSeparator) {
      result = result.replace(cookieHeaderPattern, `$1${maskReplacement}`);
      result = result.replace(keyValuePattern, replaceKeyValue);
    }
    if (result.includes('(') && result.includes(',')) result = result.replace(pairPattern, replacePair);
    if (mentionsBearer.test(result)) result = result.replace(bearerPattern, `$1${maskReplacement}`);
    result = result.replace(tokenShapePattern, replaceTokenShape);
    return result;
  };
}

const defaultScrubber = createTextScrubber();
const scrubbersByOptions = new WeakMap<ScrubTextOptions, TextScrubber>();

/**
 * Returns `text` with secrets replaced by the mask: bearer tokens, values of sensitive keys in
 * `key=value`, `key: value` and JSON forms, passwords in URLs, PEM private keys, AWS access key
 * ids and well-known token shapes. Everything else is returned byte for byte.
 *
 * The scrubber built for an options object is remembered, so pass the same object each time (or
 * use `createTextScrubber`) on hot paths.
 */
export function scrubText(text: string, options?: ScrubTextOptions): string {
  if (options === undefined) return defaultScrubber(text);
  let scrubber = scrubbersByOptions.get(options);
  if (scrubber === undefined) {
    scrubber = createTextScrubber(options);
    scrubbersByOptions.set(options, scrubber);
  }
  return scrubber(text);
}
