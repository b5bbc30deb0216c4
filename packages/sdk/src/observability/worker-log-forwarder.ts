/**
 * Logs what workers write. Every line (a structured record from Python's `logging`, or raw
 * stdout/stderr) is scrubbed once with a scrubber built once per pool, its fields redacted, and
 * only then handed to the user's logger with the worker id, the source, the level and the call's
 * correlation id. Nothing is done for a level the logger would drop, because a chatty worker can
 * print thousands of lines a second.
 */
import { createRedactor, createTextScrubber, type Redactor, type TextScrubber } from '@snakepit/redaction';
import type { WorkerLogRecord } from '../adapter/v1/adapter.js';
import { isLevelEnabled, logLevels, sdkRedactOptions, silentLogger, type Logger, type LogLevel } from './logging.js';

export class WorkerLogForwarder {
  private readonly scrub: TextScrubber;
  private readonly redactFields: Redactor;

  /**
   * `target` is the user's logger behind only a guard, not behind `wrapLogger`: the scrubbing and
   * redaction happen here, so each line is scrubbed once rather than twice.
   */
  constructor(private readonly target: Logger) {
    this.scrub = createTextScrubber();
    this.redactFields = createRedactor(sdkRedactOptions);
  }

  get enabled(): boolean {
    return this.target !== silentLogger;
  }

  /** The logger for one worker's lines (the worker id is bound once). */
  forWorker(workerId: string): Logger {
    return this.target === silentLogger ? silentLogger : this.target.child({ workerId });
  }

  log(workerLogger: Logger, record: WorkerLogRecord): void {
    const level: LogLevel = logLevels.includes(record.level) ? record.level : 'info';
    if (!isLevelEnabled(workerLogger, level)) return;
    let fields: Record<string, unknown> = {};
    if (record.fields !== undefined) {
      const redacted = this.redactFields(record.fields);
      if (typeof redacted === 'object' && redacted !== null) fields = redacted as Record<string, unknown>;
    }
    // Set last, so a field a worker sent under the same name cannot pose as them.
    fields.source = record.source;
    if (record.correlationId !== undefined) fields.correlationId = this.scrub(record.correlationId);
    workerLogger[level](fields, this.scrub(record.message));
  }
}
