/** Where the CLI writes, and its few colours (only on a terminal, never with NO_COLOR). */

export interface CliIo {
  /** Writes text as is (callers add the newlines). */
  out(text: string): void;
  err(text: string): void;
  color: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function processIo(): CliIo {
  const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    color: process.stdout.isTTY === true && !noColor && process.env.TERM !== 'dumb',
    env: process.env,
    cwd: process.cwd(),
  };
}

const codes = { green: 32, red: 31, yellow: 33, dim: 2, bold: 1 } as const;

export type Style = keyof typeof codes;

export function paint(io: Pick<CliIo, 'color'>, style: Style, text: string): string {
  return io.color ? `\u001b[${codes[style]}m${text}\u001b[0m` : text;
}
