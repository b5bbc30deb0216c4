/**
 * Which object keys (and `key=value` keys inside text) hold secrets.
 *
 * A key is compared after normalisation: lower-cased, with `-`, `_`, `.` and spaces removed, so
 * `API-Key`, `apiKey`, `X_API_KEY` and `db.password` all reduce to something containing a term.
 */

/**
 * Terms that make a key sensitive wherever they appear in it (`user_password`, `password_hash`,
 * `aws_secret_access_key`, `credentialsFile`). They are rare in harmless keys, so over-matching
 * costs little.
 */
const anywhereTerms: readonly (readonly string[])[] = [
  ['password'],
  ['passwd'],
  ['passphrase'],
  ['secret'],
  ['api', 'key'],
  ['access', 'key'],
  ['private', 'key'],
  ['credential'],
  ['authorization'],
  ['bearer'],
];

/**
 * Terms that make a key sensitive only when the key ends with them. As a prefix they name
 * harmless metadata that logs need: `token_count`, `max_tokens`, `session_id`, `auth_method`,
 * `cookie_name`.
 */
const suffixTerms: readonly (readonly string[])[] = [['token'], ['auth'], ['cookie'], ['session']];

/** The default sensitive keys in readable form (for documentation and error messages). */
export const defaultSensitiveKeys: readonly string[] = Object.freeze([
  ...anywhereTerms.map((words) => words.join('_')),
  ...suffixTerms.map((words) => words.join('_')),
]);

/** The options that decide which keys are sensitive. */
export interface SensitiveKeyOptions {
  /**
   * Extra keys to treat as sensitive, added to the defaults. Each matches like `token`: a key is
   * sensitive when its normalised form ends with the normalised extra key (`ssn` matches
   * `user_ssn` and `SSN`).
   */
  sensitiveKeys?: readonly string[];
  /** Any key whose raw (not normalised) text matches this pattern is sensitive too. */
  keyPattern?: RegExp;
}

/** Splits `apiKey`, `API-Key`, `x_api.key` into lower-case words: used to build both matchers. */
export function splitKeyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word.length > 0);
}

/** Lower-cases and drops separators, the form the structural matcher compares. */
export function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[-_.\s]/g, '');
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function customTerms(options: SensitiveKeyOptions | undefined): string[][] {
  return (options?.sensitiveKeys ?? [])
    .map((key) => splitKeyWords(key))
    .filter((words) => words.length > 0);
}

/**
 * The alternatives of the key part of the text scrubber's `key=value` pattern. Separators are
 * allowed between words so `api_key`, `api-key`, `api.key` and `apiKey` (with the `i` flag) match.
 */
export function textKeySource(options: SensitiveKeyOptions | undefined): string {
  const toSource = (words: readonly string[]): string => words.map(escapeRegExp).join('[-_.]?');
  const anywhere = anywhereTerms.map(toSource).join('|');
  const suffix = [...suffixTerms, ...customTerms(options)].map(toSource).join('|');
  // The key starts where a key can start (not inside `a.b` or `x-y`, so `snakepit.session` is read
  // as one key) and may carry a prefix (`user_`, `db.`, `X-`); an anywhere term may also be
  // followed by more key characters, a suffix term may not.
  return `(?<![\\w.\\-])[\\w.\\-]*?(?:(?:${anywhere})[\\w.\\-]*?|(?:${suffix}))`;
}

const anywhereNormalizedPattern = new RegExp(anywhereTerms.map((words) => words.join('')).join('|'));

/**
 * Whether the key contains a term that is sensitive anywhere (`password`, `secret`, ...), as
 * opposed to one that only counts at the end (`token`, `session`). The text scrubber trusts the
 * former more when deciding whether `key: value` in prose is really a secret.
 */
export function hasAnywhereTerm(key: string): boolean {
  return anywhereNormalizedPattern.test(normalizeKey(key));
}

/** Past this many distinct keys the cache is dropped rather than grown without bound. */
const keyCacheLimit = 4096;

/** Returns a predicate deciding whether an object key is sensitive; results are cached. */
export function createKeyMatcher(options?: SensitiveKeyOptions): (key: string) => boolean {
  const suffix = [...suffixTerms, ...customTerms(options)]
    .map((words) => escapeRegExp(words.join('')))
    .join('|');
  const normalizedPattern = new RegExp(`(?:${anywhereNormalizedPattern.source})|(?:${suffix})$`);
  const keyPattern = options?.keyPattern;
  // Logs repeat the same few dozen keys, so remembering answers beats re-normalising each time.
  const cache = new Map<string, boolean>();

  return (key: string): boolean => {
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    let sensitive = normalizedPattern.test(normalizeKey(key));
    if (!sensitive && keyPattern !== undefined) {
      // A global or sticky pattern keeps lastIndex between calls; reset it so answers are stable.
      keyPattern.lastIndex = 0;
      sensitive = keyPattern.test(key);
    }
    if (cache.size >= keyCacheLimit) cache.clear();
    cache.set(key, sensitive);
    return sensitive;
  };
}

const defaultKeyMatcher = createKeyMatcher();
const matchersByOptions = new WeakMap<SensitiveKeyOptions, (key: string) => boolean>();

/**
 * Whether `key` names a secret under the default rules, or under `options` when given. The
 * matcher built for an options object is remembered, so reuse the same object on hot paths.
 */
export function isSensitiveKey(key: string, options?: SensitiveKeyOptions): boolean {
  if (options === undefined) return defaultKeyMatcher(key);
  let matcher = matchersByOptions.get(options);
  if (matcher === undefined) {
    matcher = createKeyMatcher(options);
    matchersByOptions.set(options, matcher);
  }
  return matcher(key);
}
