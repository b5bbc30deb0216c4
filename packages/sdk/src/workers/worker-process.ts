/**
 * One OS process that speaks the worker protocol: it receives its private configuration as the
 * first line of stdin (never argv, which other local users can read), announces readiness as one
 * JSON line on a dedicated control pipe (fd 3, so no output of the user's code can split or fake
 * it), exits by itself when stdin reaches EOF (parent gone), and runs in its own process group so
 * stopping it also stops whatever it spawned.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { WorkerExitInfo, WorkerLogRecord } from '../adapter/v1/adapter.js';
import { createTextScrubber } from '@snakepit/redaction';
import { errors, SnakepitError } from '../errors.js';
import { parseWorkerLogLine } from './worker-log-line.js';
import { readLines } from './line-reader.js';

export interface WorkerProcessSpec {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface ReadyAnnouncement {
  port: number;
  info: Record<string, unknown>;
}

export interface WorkerProcessOptions {
  workerId: string;
  spec: WorkerProcessSpec;
  /** Written as one JSON line to stdin before anything else. */
  config: Record<string, unknown>;
  startupTimeoutMs: number;
  signal: AbortSignal;
  onLog(record: WorkerLogRecord): void;
  /** A hint for the startup error when the runtime itself is missing. */
  missingRuntimeHint?: string;
}

const stderrTailLines = 30;
/** A startup error quotes the tail; a megabyte line printed by user code must not become its message. */
const stderrTailLineChars = 4096;

/**
 * Startup errors quote what the worker printed and raised, and they reach logs and error trackers:
 * scrubbed like every other worker line. Only on failure, so lines are kept raw until then.
 */
const scrub = createTextScrubber();

export class WorkerProcess {
  readonly pid: number;
  readonly exited: Promise<WorkerExitInfo>;
  private exitInfo: WorkerExitInfo | undefined;
  private readonly stderrTail: string[] = [];

  private constructor(
    private readonly child: ChildProcess,
    private readonly options: WorkerProcessOptions,
  ) {
    this.pid = child.pid!;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        // The group may outlive its leader (a tool's grandchild); nothing of it may remain.
        this.killGroup('SIGKILL');
        resolve(this.exitInfo);
      });
    });
    readLines(child.stdout as Readable, (line, part) => this.log('stdout', line, part));
    readLines(child.stderr as Readable, (line, part) => {
      this.stderrTail.push(
        line.length > stderrTailLineChars ? `${line.slice(0, stderrTailLineChars)}... [${line.length - stderrTailLineChars} more characters]` : line,
      );
      if (this.stderrTail.length > stderrTailLines) this.stderrTail.shift();
      this.log('stderr', line, part);
    });
  }

  /** Spawns the process and resolves once it announced readiness. */
  static async start(options: WorkerProcessOptions): Promise<{ process: WorkerProcess; ready: ReadyAnnouncement }> {
    const { spec } = options;
    let child: ChildProcess;
    try {
      child = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        env: spec.env,
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      });
    } catch (error) {
      throw errors.startupFailed(`could not start ${spec.command}: ${(error as Error).message}`, { cause: error });
    }
    const spawned = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', (error) => resolve(error));
    });
    if (spawned !== undefined) {
      const hint = options.missingRuntimeHint ? ` ${options.missingRuntimeHint}` : '';
      throw errors.startupFailed(`could not start "${spec.command}": ${spawned.message}.${hint}`, {
        cause: spawned,
        details: { command: spec.command },
      });
    }
    // A detached child must not keep the parent alive, but its pipes are ours to read.
    child.unref();
    const worker = new WorkerProcess(child, options);
    child.stdin!.on('error', () => {});
    child.stdin!.write(`${JSON.stringify(options.config)}\n`);
    try {
      const ready = await worker.awaitReady();
      return { process: worker, ready };
    } catch (error) {
      await worker.stop(0);
      throw error;
    }
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  get exitStatus(): WorkerExitInfo | undefined {
    return this.exitInfo;
  }

  /** The last lines the process wrote to stderr, scrubbed, for error messages. */
  recentStderr(): string {
    return this.stderrTail.map(scrub).join('\n');
  }

  private log(source: 'stdout' | 'stderr', line: string, part: number | undefined): void {
    if (line.length === 0) return;
    this.options.onLog(parseWorkerLogLine(this.options.workerId, source, line, part));
  }

  private awaitReady(): Promise<ReadyAnnouncement> {
    const { startupTimeoutMs, signal, workerId } = this.options;
    const control = this.child.stdio[3] as Readable;
    return new Promise<ReadyAnnouncement>((resolve, reject) => {
      let settled = false;
      const finish = (error: SnakepitError | undefined, ready?: ReadyAnnouncement) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        control.destroy();
        if (error) reject(error);
        else resolve(ready!);
      };
      const failure = (message: string, cause?: unknown, pythonType?: string, traceback?: string) => {
        const stderr = this.recentStderr();
        const full = stderr.length > 0 && traceback === undefined ? `${message}\n--- last stderr lines ---\n${stderr}` : message;
        return errors.startupFailed(full, {
          cause,
          details: { workerId, stderr },
          ...(pythonType !== undefined ? { pythonType } : {}),
          ...(traceback !== undefined ? { pythonTraceback: traceback } : {}),
        });
      };
      const timer = setTimeout(
        () => finish(failure(`worker ${workerId} did not become ready within ${startupTimeoutMs} ms`)),
        startupTimeoutMs,
      );
      const onAbort = () => finish(failure(`startup of worker ${workerId} was cancelled`, signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      readLines(control, (line) => {
        let announcement: { event?: string; port?: number; info?: Record<string, unknown>; error?: Record<string, string> };
        try {
          announcement = JSON.parse(line);
        } catch (error) {
          finish(failure(`worker ${workerId} sent an unreadable readiness line`, error));
          return;
        }
        if (announcement.event === 'ready' && typeof announcement.port === 'number') {
          finish(undefined, { port: announcement.port, info: announcement.info ?? {} });
        } else if (announcement.event === 'failed') {
          const detail = announcement.error ?? {};
          const type = detail.type ?? 'Error';
          const traceback = detail.traceback === undefined ? undefined : scrub(String(detail.traceback));
          finish(failure(`worker ${workerId} failed to start: ${type}: ${scrub(String(detail.message ?? ''))}`, undefined, type, traceback));
        } else {
          finish(failure(`worker ${workerId} sent an unexpected readiness line`));
        }
      });
      void this.exited.then((exit) => {
        // Let a failure line that raced the exit win: it says more than the exit code does.
        setTimeout(() => {
          const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
          finish(failure(`worker ${workerId} exited before it was ready (${how})`));
        }, 50);
      });
    });
  }

  private killGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // ESRCH: the group is already gone.
    }
  }

  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves once the process has exited. */
  async stop(graceMs: number): Promise<WorkerExitInfo> {
    if (this.exitInfo) {
      this.killGroup('SIGKILL');
      return this.exitInfo;
    }
    if (graceMs > 0) {
      this.killGroup('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const graceful = await Promise.race([
        this.exited.then(() => true),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), graceMs);
        }),
      ]);
      clearTimeout(timer);
      if (graceful) return this.exitInfo!;
    }
    this.killGroup('SIGKILL');
    this.child.stdin?.destroy();
    return this.exited;
  }
}
