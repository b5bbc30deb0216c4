import { describe, expect, it } from 'vitest';
import { createTextScrubber, scrubText } from '../src/scrub-text.js';

const mask = '[REDACTED]';
const jwt =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
const privateKey = [
  '-----BEGIN RSA PRIVATE KEY-----',
  'MIIEowIBAAKCAQEAyourkeyhereabcdef0123456789',
  'q1w2e3r4t5y6u7i8o9p0',
  '-----END RSA PRIVATE KEY-----',
].join('\n');

describe('scrubText', () => {
  it.each([
    ['Authorization: Bearer abc123def456', `Authorization: Bearer ${mask}`],
    ['authorization=Basic dXNlcjpwYXNz', `authorization=Basic ${mask}`],
    [`calling api with Bearer ${jwt}`, `calling api with Bearer ${mask}`],
    ['retrying with bearer 8f14e45fceea167a5a36dedd4bea2543', `retrying with bearer ${mask}`],
  ])('masks bearer and authorization credentials: %s', (input, expected) => {
    expect(scrubText(input)).toBe(expected);
  });

  it.each([
    ['password=hunter2 user=ada', `password=${mask} user=ada`],
    ['db.password: hunter2', `db.password: ${mask}`],
    ['X-API-Key: 12345abcdef', `X-API-Key: ${mask}`],
    ['apiKey=abc&page=2', `apiKey=${mask}&page=2`],
    ['{"password": "two words", "user": "ada"}', `{"password": "${mask}", "user": "ada"}`],
    ["{'client_secret': 'abc', 'n': 1}", `{'client_secret': '${mask}', 'n': 1}`],
    ['{\\"token\\":\\"abc\\",\\"n\\":1}', `{\\"token\\":\\"${mask}\\",\\"n\\":1}`],
    ['https://x.test/cb?access_token=abc&state=1', `https://x.test/cb?access_token=${mask}&state=1`],
    ['Cookie: csrftoken=abc; sessionid=xyz', `Cookie: ${mask}`],
    ['Set-Cookie: id=a3fWa; Secure', `Set-Cookie: ${mask}`],
    ['session: 4f9a8b7c2d', `session: ${mask}`],
    ['--password=abc --user ada', `--password=${mask} --user ada`],
    ['Foo(private_key=abc)', `Foo(private_key=${mask})`],
  ])('masks values of sensitive keys: %s', (input, expected) => {
    expect(scrubText(input)).toBe(expected);
  });

  it.each([
    ["{'password': 'hunter2-secret', 'token': 'tok_abcdefgh12345'}", `{'password': '${mask}', 'token': '${mask}'}`],
    ["{'password': b'hunter2xyz'}", `{'password': b'${mask}'}`],
    ["(password='pw1', token=u'tok2zzzz')", `(password='${mask}', token=u'${mask}')`],
    ["{'auth': ('user', 'pw-secret')}", `{'auth': (${mask})}`],
    ["{'credentials': {'user': 'a', 'pin': '1234'}, 'n': 1}", `{'credentials': {${mask}}, 'n': 1}`],
    ['{"api_keys": ["k1", "k2"], "n": 1}', `{"api_keys": [${mask}], "n": 1}`],
    ["Settings(password=Secret('hunter2'))", `Settings(password=Secret(${mask}))`],
    ["password: 'a)b', user: 'c'", `password: '${mask}', user: 'c'`],
    ["OrderedDict([('password', 'hunter2'), ('user', 'ada')])", `OrderedDict([('password', '${mask}'), ('user', 'ada')])`],
    ["[('Authorization', 'Basic dXNlcjpwYXNz'), ('Accept', '*/*')]", `[('Authorization', '${mask}'), ('Accept', '*/*')]`],
  ])('masks Python reprs: %s', (input, expected) => {
    expect(scrubText(input)).toBe(expected);
  });

  it('masks to the end of the line when a value opens and never closes', () => {
    expect(scrubText("{'password': 'cut off by the line limit")).toBe(`{'password': ${mask}`);
    expect(scrubText("{'secret': {'a': {'b': {'c': {'d': 'deep'}}}}, 'n': 1}")).toBe(`{'secret': ${mask}`);
  });

  it.each([
    ['key id AKIAIOSFODNN7EXAMPLE used', `key id AKIA${mask} used`],
    ['temporary ASIAY34FZKBOKMUTVV7A', `temporary ASIA${mask}`],
    [
      'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      `AWS_SECRET_ACCESS_KEY=${mask}`,
    ],
    ['aws_secret_key = "wJalrXUtnFEMI/K7MDENG"', `aws_secret_key = "${mask}"`],
  ])('masks AWS credentials: %s', (input, expected) => {
    expect(scrubText(input)).toBe(expected);
  });

  it('masks whole PEM private key blocks, even cut-off ones', () => {
    expect(scrubText(`key loaded: ${privateKey} done`)).toBe(`key loaded: ${mask} done`);
    const cut = privateKey.slice(0, 60);
    expect(scrubText(`partial ${cut}`)).toBe(`partial ${mask}`);
    expect(scrubText('-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----')).toBe(
      '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----',
    );
  });

  it.each([
    ['postgres://user:pass@host:5432/db', `postgres://user:${mask}@host:5432/db`],
    ['redis://:s3cret@cache:6379', `redis://:${mask}@cache:6379`],
    ['amqp://guest:guest@rabbit/vhost ok', `amqp://guest:${mask}@rabbit/vhost ok`],
  ])('masks passwords in URLs: %s', (input, expected) => {
    expect(scrubText(input)).toBe(expected);
  });

  it.each([
    [`token ${'ghp_'}${'a1B2'.repeat(9)} here`, `token ghp_${mask} here`],
    [`github_pat_${'A1b2_'.repeat(10)}`, `github_pat_${mask}`],
    ['slack xoxb-123456789012-abcdefghij', `slack xoxb-${mask}`],
    ['stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc', `stripe sk_live_${mask}`],
    ['openai sk-proj-abcdefghijklmnop1234567890', `openai sk-${mask}`],
    ['google AIzaSyA1234567890abcdefghijklmnopqrstuv', `google AIza${mask}`],
    [`jwt ${jwt} end`, `jwt ${mask} end`],
  ])('masks well-known token shapes: %s', (input, expected) => {
    expect(scrubText(input)).toBe(expected);
  });

  it('leaves ordinary text byte for byte', () => {
    const innocent = [
      'password reset email sent to user 42',
      'the token bucket refills every 100ms',
      'auth service is healthy',
      'session started for worker 3',
      'Reading credentials from the environment',
      'prompt_tokens=12 completion_tokens=40 max_tokens=256',
      'token_count: 512 session_id=sess-42 tool=predict',
      'INFO:auth:user logged in',
      'snakepit.session: started',
      'The bearer of this letter, Bearer bonds',
      'connected to postgres://db.internal:5432/app',
      'GET https://example.com/docs?page=2&limit=10 200',
      'sk-learn 1.4 installed; task-1234567890abcdefghijkl queued',
      'AKIA is the prefix of an access key id',
      'Traceback (most recent call last):',
      "ValueError: invalid literal for int() with base 10: 'abc'",
      'cookie policy accepted; 100% done',
      'PRIVATE KEY rotation scheduled for Friday',
      'ratio=0.5 accuracy: 0.93 loss: 0.12',
      'secret santa party on friday',
      "fields = ['password', 'email']",
      'auth: (none)',
      '',
    ];
    for (const line of innocent) expect(scrubText(line)).toBe(line);
  });

  it('is idempotent, so text scrubbed twice is unchanged the second time', () => {
    const lines = [
      'Authorization: Bearer abc123def456',
      'Cookie: a=1; b=2',
      'password=hunter2',
      '{"token": "x"}',
      "{'auth': ('user', 'pw'), 'key': b'x', 'secret': {'a': {'b': {'c': {'d': 1}}}}}",
      "[('password', 'hunter2')] Settings(password=Secret('pw'))",
      'postgres://user:pass@host/db',
      `AKIAIOSFODNN7EXAMPLE ${jwt}`,
      privateKey,
    ];
    for (const line of lines) {
      const once = scrubText(line);
      expect(scrubText(once)).toBe(once);
    }
  });

  it('uses a custom mask and custom keys', () => {
    const scrub = createTextScrubber({ mask: '<$hidden$>', sensitiveKeys: ['ssn'] });
    expect(scrub('user_ssn=123-45-6789 password=x')).toBe('user_ssn=<$hidden$> password=<$hidden$>');
    expect(scrub(scrub('password=x'))).toBe('password=<$hidden$>');
    expect(scrubText('ssn=123', { sensitiveKeys: ['ssn'] })).toBe(`ssn=${mask}`);
  });
});
