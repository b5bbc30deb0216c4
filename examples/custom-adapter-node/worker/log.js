/**
 * Structured log lines on stderr (PROTOCOL.md §3): one JSON object per line whose first key is
 * `snakepit`, so the pool forwards it to its logger with its level and fields. Never log argument
 * values: the tool name and the correlation id say which call it was.
 */
const levels = { trace: 10, debug: 20, info: 30, warn: 40, warning: 40, error: 50, fatal: 60, critical: 60, silent: Infinity };

let threshold = levels.info;

export function setLogLevel(level) {
  threshold = levels[String(level).toLowerCase()] ?? levels.info;
}

export function log(level, message, fields = {}) {
  if ((levels[level] ?? levels.info) < threshold) return;
  // Key order is insertion order: `snakepit` first, exactly as the pool recognises the line.
  process.stderr.write(`${JSON.stringify({ snakepit: 'log', level, logger: 'node-worker', message, ...fields })}\n`);
}

export const logger = {
  debug: (message, fields) => log('debug', message, fields),
  info: (message, fields) => log('info', message, fields),
  warn: (message, fields) => log('warn', message, fields),
  error: (message, fields) => log('error', message, fields),
};
