/**
 * Routes what workers write. Records of Python's `logging` go to the user's logger; raw stdout and
 * stderr lines (`print()`, warnings, native libraries) go where `workerOutput` says: this process's
 * stderr (the default, so print-debugging shows something without any set-up), the logger, or
 * nowhere. Every line is scrubbed once with a scrubber built once per pool, and a record's fields
 * are redacted, before anyone sees it. Nothing is done for a level the logger would drop, because
 * a chatty worker can print thousands of lines a second.
 */
import { createRedactor, createTextScrubber, type Redactor, type TextScrubber } from '@snakepit/redaction';
import type { WorkerLogRecord } from '../adapter/v1/adapter.js';
import type { WorkerOutput } from '../pool/options.js';
import { isLevelEnabled, logLevels, sdkRedactOptions, silentLogger, type Logger, type LogLevel } from './logging.js';

export type WriteText = (text: string) => void;

const writeToStderr: WriteText = (text) => {
  process.stderr.write(text);
};

export class WorkerLogForwarder {
  private readonly scrub: TextScrubber;
  private readonly redactFields: Redactor;

  /**
   * `target` is the user's logger behind only a guard, not behind `wrapLogger`: the scrubbing and
   * redaction happen here, so each line is scrubbed once rather than twice. `write` is where
   * `'stderr'` output goes (replaced in tests).
   */
  constructor(
    private readonly target: Logger,
    private readonly output: WorkerOutput,
    private readonly write: WriteText = writeToStderr,
  ) {
    this.scrub = createTextScrubber();
    this.redactFields = createRedactor(sdkRedactOptions);
  }

  get enabled(): boolean {
    return this.target !== silentLogger || this.output === 'stderr';
  }

  /** The logger for one worker's lines (the worker id is bound once). */
  forWorker(workerId: string): Logger {
    return this.target === silentLogger ? silentLogger : this.target.child({ workerId });
  }

  log(workerLogger: Logger, record: WorkerLogRecord): void {
    if (record.source !== 'logging') {
      if (this.output === 'ignore') return;
      if (this.output === 'stderr') {
        this.write(`[snakepit ${record.workerId}] ${this.scrub(record.message)}\n`);
        return;
      }
    }
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
