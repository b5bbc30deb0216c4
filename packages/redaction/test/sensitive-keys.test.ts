import { describe, expect, it } from 'vitest';
import { createKeyMatcher, defaultSensitiveKeys, isSensitiveKey } from '../src/sensitive-keys.js';

describe('isSensitiveKey', () => {
  it('matches every default family', () => {
    const keys = [
      'password',
      'passwd',
      'passphrase',
      'secret',
      'token',
      'api_key',
      'apikey',
      'access_key',
      'authorization',
      'auth',
      'cookie',
      'set-cookie',
      'session',
      'private_key',
      'credential',
      'credentials',
      'client_secret',
      'refresh_token',
      'access_token',
      'bearer',
    ];
    for (const key of keys) expect(isSensitiveKey(key), key).toBe(true);
  });

  it('ignores case and separators', () => {
    const keys = ['API-Key', 'apiKey', 'X_API_KEY', 'user_password', 'db.password', 'Set-Cookie'];
    for (const key of keys) expect(isSensitiveKey(key), key).toBe(true);
  });

  it('keeps harmless metadata keys that merely start with a weak term', () => {
    const keys = ['token_count', 'max_tokens', 'session_id', 'sessionId', 'auth_method', 'author'];
    for (const key of keys) expect(isSensitiveKey(key), key).toBe(false);
    for (const key of ['name', 'tool', 'args', 'keyboard']) expect(isSensitiveKey(key)).toBe(false);
  });

  it('adds custom keys to the defaults, matched at the end of the key', () => {
    const options = { sensitiveKeys: ['ssn', 'national_id'] };
    expect(isSensitiveKey('ssn', options)).toBe(true);
    expect(isSensitiveKey('user_SSN', options)).toBe(true);
    expect(isSensitiveKey('nationalId', options)).toBe(true);
    expect(isSensitiveKey('password', options)).toBe(true);
    expect(isSensitiveKey('ssn_last4', options)).toBe(false);
  });

  it('accepts a pattern tested against the raw key, stable even with the g flag', () => {
    const matches = createKeyMatcher({ keyPattern: /^x-internal-/g });
    expect(matches('x-internal-route')).toBe(true);
    expect(matches('x-internal-other')).toBe(true);
    expect(matches('X-Internal-route')).toBe(false);
  });

  it('publishes the default list in readable form', () => {
    expect(defaultSensitiveKeys).toContain('password');
    expect(defaultSensitiveKeys).toContain('api_key');
    expect(defaultSensitiveKeys).toContain('session');
  });
});
