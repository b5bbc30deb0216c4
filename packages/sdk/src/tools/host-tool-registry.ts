/**
 * Node functions that Python code can call by name (`call_host_tool`). Registration validates
 * everything up front (name, metadata, parameters) so a bad tool is refused where it is
 * registered, not when Python first calls it. Returned descriptions are frozen copies.
 */
import { errors, hostErrors, SnakepitError } from '../errors.js';
import { assertJsonValue, type JsonValue } from '../wire/json-value.js';
import type { ToolArguments } from '../wire/arguments.js';
import { validateStringMap, validateToolName } from './tool-validation.js';

export interface HostToolContext {
  /** The session of the Python call, when it has one. */
  readonly sessionId: string | undefined;
  /** Fires when the caller goes away (cancelled gRPC call, pool shutdown). */
  readonly signal: AbortSignal;
  readonly correlationId: string | undefined;
  /** The call's free-form metadata (empty when none). */
  readonly metadata: Readonly<Record<string, string>>;
}

export type HostToolHandler = (args: ToolArguments, context: HostToolContext) => unknown;

export interface HostToolOptions {
  description?: string;
  /** A JSON description of the parameters (JSON Schema recommended); sent to Python as-is. */
  parameters?: JsonValue;
  /** Whether Python may list and call it. Default true. */
  exposeToPython?: boolean;
  /** ≤ 32 string entries, ≤ 4 KiB as JSON. */
  metadata?: Record<string, string>;
}

export interface HostToolDefinition extends HostToolOptions {
  name: string;
  handler: HostToolHandler;
}

/** A registered tool as callers see it (frozen). */
export interface HostTool {
  readonly name: string;
  readonly description: string;
  readonly parameters: JsonValue | undefined;
  readonly exposeToPython: boolean;
  readonly metadata: Readonly<Record<string, string>>;
  readonly handler: HostToolHandler;
}

export interface ListHostToolsOptions {
  /** Only the tools exposed to Python. Default false. */
  exposedOnly?: boolean;
}

export interface ExecuteHostToolOptions {
  sessionId?: string;
  signal?: AbortSignal;
  correlationId?: string;
  metadata?: Readonly<Record<string, string>>;
  /** Treat tools not exposed to Python as unknown (the bridge sets this). Default false. */
  exposedOnly?: boolean;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Validates one definition and builds its frozen description; throws before anything is stored. */
function describe(name: unknown, handler: unknown, options: HostToolOptions): HostTool {
  validateToolName(name, 'name');
  if (typeof handler !== 'function') throw errors.invalidParameter('handler', 'must be a function');
  if (typeof options !== 'object' || options === null) throw errors.invalidParameter('options', 'invalid_type');
  const description = options.description ?? '';
  if (typeof description !== 'string') throw errors.invalidParameter('description', 'invalid_type');
  const exposeToPython = options.exposeToPython ?? true;
  if (typeof exposeToPython !== 'boolean') throw errors.invalidParameter('exposeToPython', 'invalid_type');
  let parameters: JsonValue | undefined;
  if (options.parameters !== undefined) {
    assertJsonValue('parameters', options.parameters);
    parameters = deepFreeze(structuredClone(options.parameters));
  }
  return Object.freeze({
    name: name as string,
    description,
    parameters,
    exposeToPython,
    metadata: validateStringMap(options.metadata, 'metadata'),
    handler: handler as HostToolHandler,
  });
}

function duplicate(name: string): SnakepitError {
  return hostErrors.toolRegistrationFailed(name, 'duplicate', `a host tool named "${name}" is already registered`);
}

/** Never aborts; used when a caller passes no signal so handlers can always rely on one. */
const neverAborted = new AbortController().signal;

export class HostToolRegistry {
  readonly #tools = new Map<string, HostTool>();

  /** Registers one tool; throws `invalid_parameter` or `tool_registration_failed` (reason `duplicate`). */
  register(name: string, handler: HostToolHandler, options: HostToolOptions = {}): HostTool {
    const tool = describe(name, handler, options);
    if (this.#tools.has(tool.name)) throw duplicate(tool.name);
    this.#tools.set(tool.name, tool);
    return tool;
  }

  /** Registers all or none: every definition is validated, and checked for duplicates, first. */
  registerAll(definitions: readonly HostToolDefinition[]): HostTool[] {
    if (!Array.isArray(definitions)) throw errors.invalidParameter('definitions', 'must be an array');
    const tools: HostTool[] = [];
    const seen = new Set<string>();
    for (const definition of definitions) {
      if (typeof definition !== 'object' || definition === null) throw errors.invalidParameter('definitions', 'invalid_type');
      const { name, handler, ...options } = definition;
      const tool = describe(name, handler, options);
      if (this.#tools.has(tool.name) || seen.has(tool.name)) throw duplicate(tool.name);
      seen.add(tool.name);
      tools.push(tool);
    }
    for (const tool of tools) this.#tools.set(tool.name, tool);
    return tools;
  }

  /** True when a tool was removed. */
  unregister(name: string): boolean {
    return this.#tools.delete(name);
  }

  get(name: string): HostTool | undefined {
    return this.#tools.get(name);
  }

  has(name: string): boolean {
    return this.#tools.has(name);
  }

  list(options: ListHostToolsOptions = {}): HostTool[] {
    const tools = [...this.#tools.values()];
    return options.exposedOnly === true ? tools.filter((tool) => tool.exposeToPython) : tools;
  }

  /**
   * Runs a tool. Unknown (or, with `exposedOnly`, unexposed) → `unknown_tool` listing what is
   * available; a handler that throws or rejects → `host_tool_error` with its message (the
   * original as `cause`); a signal already aborted → `aborted` without running the handler.
   */
  async execute(name: string, args: ToolArguments = {}, options: ExecuteHostToolOptions = {}): Promise<unknown> {
    const tool = this.#tools.get(name);
    if (tool === undefined || (options.exposedOnly === true && !tool.exposeToPython)) {
      const available = this.list({ exposedOnly: options.exposedOnly === true }).map((candidate) => candidate.name);
      throw hostErrors.unknownHostTool(name, available.sort());
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args)) {
      throw errors.invalidParameter('(arguments)', 'arguments must be a plain object of named parameters');
    }
    const signal = options.signal ?? neverAborted;
    if (signal.aborted) throw errors.aborted(name, signal.reason);
    const context: HostToolContext = Object.freeze({
      sessionId: options.sessionId,
      signal,
      correlationId: options.correlationId,
      metadata: Object.freeze({ ...options.metadata }),
    });
    try {
      return await tool.handler(args, context);
    } catch (error) {
      throw hostErrors.hostToolFailed(name, error);
    }
  }
}

export function createHostToolRegistry(): HostToolRegistry {
  return new HostToolRegistry();
}
