/**
 * A logger that keeps what it is given, for tests that assert on logs (e.g. that a payload never
 * appears in them). Children share their parent's records and add their bindings to each one.
 */
import { formatLogLine, logLevels, type LogLevel, type Logger } from '../observability/logging.js';
import { levelMethods } from '@snakepit/redaction';

export interface MemoryLogRecord {
  level: LogLevel;
  message: string;
  /** Bindings of the (child) logger merged with the record's own fields. */
  fields: Record<string, unknown>;
  /** The record as the JSON logger would have written it. */
  line: string;
}

export interface MemoryLogger extends Logger {
  readonly records: MemoryLogRecord[];
  /** Every record as a JSON line. */
  lines(): string[];
  /** Every line joined, handy for `expect(text).not.toContain(secret)`. */
  text(): string;
  clear(): void;
}

const severity = new Map(logLevels.map((level, index) => [level, index]));

export function createMemoryLogger(options: { level?: LogLevel } = {}): MemoryLogger {
  const records: MemoryLogRecord[] = [];
  const threshold = severity.get(options.level ?? 'trace')!;
  const make = (bindings: Record<string, unknown>): Logger => {
    const method = (level: LogLevel) => (fields: Record<string, unknown>, message?: string) => {
      if (severity.get(level)! < threshold) return;
      const merged = { ...bindings, ...fields };
      records.push({ level, message: message ?? '', fields: merged, line: formatLogLine(level, message, merged) });
    };
    return {
      ...levelMethods(method),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  const root = make({});
  return {
    ...root,
    records,
    lines: () => records.map((record) => record.line),
    text: () => records.map((record) => record.line).join('\n'),
    clear: () => {
      records.length = 0;
    },
  };
}
