/**
 * Turns one line a worker wrote into a log record; structured lines carry level, correlation id and
 * trace id. Raw lines are what user code printed: stderr is read as a warning, stdout as info.
 * Scrubbing happens where the record is logged (and only when it is), not here. A line longer than
 * the line reader's limit arrives in pieces; each piece is a record with `fields.linePart` (1, 2...).
 */
import type { WorkerLogRecord } from '../adapter/v1/adapter.js';

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

export function parseWorkerLogLine(
  workerId: string,
  source: 'stdout' | 'stderr',
  line: string,
  part?: number,
): WorkerLogRecord {
  if (part !== undefined) {
    // A piece of a longer line is never a whole structured record.
    return { workerId, source, level: source === 'stderr' ? 'warn' : 'info', message: line, fields: { linePart: part } };
  }
  if (line.startsWith('{"snakepit":')) {
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.snakepit === 'log') {
        const { snakepit: _marker, level, message, correlation_id: correlationId, trace_id: traceId, ...fields } = parsed;
        // Named like the sdk's own fields, so one query finds a call's lines on both sides.
        if (typeof traceId === 'string') fields.traceId = traceId;
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
