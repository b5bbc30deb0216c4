/** Turns one line a worker wrote into a log record; structured lines carry level and correlation id. */
import type { WorkerLogRecord } from '../adapter.js';

const levels: Record<string, WorkerLogRecord['level']> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  fatal: 'fatal',
  critical: 'fatal',
};

export function parseWorkerLogLine(workerId: string, source: 'stdout' | 'stderr', line: string): WorkerLogRecord {
  if (line.startsWith('{"snakepit":')) {
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.snakepit === 'log') {
        const { snakepit: _marker, level, message, correlation_id: correlationId, ...fields } = parsed;
        return {
          workerId,
          source: 'logging',
          level: levels[String(level)] ?? 'info',
          message: String(message ?? ''),
          ...(typeof correlationId === 'string' ? { correlationId } : {}),
          fields,
        };
      }
    } catch {
      // Not ours after all: fall through and log it raw.
    }
  }
  return { workerId, source, level: source === 'stderr' ? 'warn' : 'info', message: line };
}
