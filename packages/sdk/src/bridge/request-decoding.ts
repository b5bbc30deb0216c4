/**
 * Host-bridge requests become plain, validated values here, before any handler runs: a malformed
 * field is refused with `invalid_parameter` naming the field (or tool parameter) and the reason.
 * Replies are built here too, so wire shapes stay out of the service code.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import { errors, hostErrors, SnakepitError } from '../errors.js';
import type { ToolCall, ToolSpec, ToolSpecSchema, ToolValueSchema } from '../gen/snakepit/bridge/v1/common_pb.js';
import type { SessionSchema } from '../gen/snakepit/bridge/v1/host_pb.js';
import { encodeArguments } from '../wire/arguments.js';
import type { JsonValue } from '../wire/json-value.js';
import { maxSessionTtlMs, validateIdentifier, validateSessionId, type Session } from '../session/session-store.js';
import type { HostTool } from '../tools/host-tool-registry.js';
import { abbreviate, validateStringMap, validateToolName } from '../tools/tool-validation.js';
import type { WorkerToolSpec } from '../tools/worker-tool-catalog.js';
import type { ToolArguments } from '../wire/arguments.js';
import { correlationHeader } from '../wire/headers.js';

/** Session metadata marking a worker's own housekeeping session (exempt from user quotas). */
export const internalSessionMetadataKey = 'snakepit.internal';
export const maxParameterNameLength = 256;
export const maxWorkerIdLength = 256;
export const maxToolsPerWorker = 1024;
const maxCorrelationIdLength = 256;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** One UTF-8 JSON document. The parser's message is not echoed: it quotes the payload. */
export function decodeJsonDocument(bytes: Uint8Array, key: string): JsonValue {
  if (bytes.length === 0) throw errors.invalidParameter(key, 'empty; expected one JSON document');
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw errors.invalidParameter(key, 'not valid UTF-8');
  }
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    const position = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
    throw errors.invalidParameter(key, position === undefined ? 'invalid JSON' : `invalid JSON at position ${position}`);
  }
}

export function decodeWorkerId(workerId: string): string {
  return validateIdentifier(workerId, 'worker_id', maxWorkerIdLength);
}

/** An optional session id: the wire's "" means none. */
export function decodeOptionalSessionId(sessionId: string): string | undefined {
  return sessionId === '' ? undefined : validateSessionId(sessionId, 'session_id');
}

/** `ttl_ms`: 0 means the store's default. */
export function decodeTtl(ttlMs: bigint): number | undefined {
  if (ttlMs === 0n) return undefined;
  if (ttlMs < 0n) throw errors.invalidParameter('ttl_ms', 'negative');
  if (ttlMs > BigInt(maxSessionTtlMs)) throw errors.invalidParameter('ttl_ms', `above the maximum of ${maxSessionTtlMs} ms`);
  return Number(ttlMs);
}

export function decodeCorrelationId(headers: Headers): string | undefined {
  const value = headers.get(correlationHeader);
  if (value === null || value === '') return undefined;
  // Only ever logged and handed on; a bounded prefix keeps a huge header out of every log line.
  return value.slice(0, maxCorrelationIdLength);
}

function validateParameterName(key: string): string {
  if (key.length === 0) throw errors.invalidParameter(key, 'empty parameter name');
  if (key.length > maxParameterNameLength) throw errors.invalidParameter(abbreviate(key), 'too_long');
  return key;
}

/** Sets an own data property even for names like "__proto__", which plain assignment would misread. */
function define(target: ToolArguments, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export interface DecodedToolCall {
  toolName: string;
  sessionId: string | undefined;
  args: ToolArguments;
  metadata: Readonly<Record<string, string>>;
}

/** The call of ExecuteHostTool: JSON parameters parsed, binary ones as Uint8Array. */
export function decodeToolCall(call: ToolCall | undefined): DecodedToolCall {
  if (call === undefined) throw errors.invalidParameter('call', 'missing');
  const toolName = validateToolName(call.toolName, 'tool_name');
  const sessionId = decodeOptionalSessionId(call.sessionId);
  const metadata = validateStringMap(call.metadata, 'metadata');
  const args: ToolArguments = {};
  for (const [key, bytes] of Object.entries(call.jsonParameters)) {
    validateParameterName(key);
    if (Object.hasOwn(call.binaryParameters, key)) {
      throw errors.invalidParameter(key, 'present in both json_parameters and binary_parameters');
    }
    define(args, key, decodeJsonDocument(bytes, key));
  }
  for (const [key, bytes] of Object.entries(call.binaryParameters)) define(args, validateParameterName(key), bytes);
  return { toolName, sessionId, args, metadata };
}

/** What a worker reported about its tools; names must be unique within one report. */
export function decodeToolSpecs(specs: readonly ToolSpec[]): WorkerToolSpec[] {
  if (specs.length > maxToolsPerWorker) throw errors.invalidParameter('tools', `more than ${maxToolsPerWorker} tools`);
  const seen = new Set<string>();
  return specs.map((spec, index) => {
    const name = validateToolName(spec.name, `tools[${index}].name`);
    if (seen.has(name)) throw errors.invalidParameter(`tools[${index}].name`, 'duplicate');
    seen.add(name);
    return {
      name,
      description: spec.description,
      supportsStreaming: spec.supportsStreaming,
      parameters: spec.parametersJson.length === 0 ? undefined : decodeJsonDocument(spec.parametersJson, `tools[${index}].parameters_json`),
      metadata: validateStringMap(spec.metadata, `tools[${index}].metadata`),
    };
  });
}

function unixMs(milliseconds: number): bigint {
  return BigInt(Math.trunc(milliseconds));
}

export function sessionToWire(session: Session): MessageInitShape<typeof SessionSchema> {
  return {
    id: session.id,
    createdAtUnixMs: unixMs(session.createdAt),
    lastAccessedAtUnixMs: unixMs(session.lastAccessedAt),
    expiresAtUnixMs: unixMs(session.expiresAt),
    metadata: { ...session.metadata },
  };
}

export function hostToolToWire(tool: HostTool): MessageInitShape<typeof ToolSpecSchema> {
  return {
    name: tool.name,
    description: tool.description,
    supportsStreaming: false,
    parametersJson: tool.parameters === undefined ? new Uint8Array() : Buffer.from(JSON.stringify(tool.parameters), 'utf8'),
    metadata: { ...tool.metadata },
  };
}

export function jsonToWire(value: JsonValue): Uint8Array {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/**
 * A host tool's result as a ToolValue: a Uint8Array travels raw, anything else as JSON, refused
 * (as `host_tool_error`) when JSON would lose or mangle it. `undefined` becomes null.
 */
export function resultToWire(tool: string, value: unknown): MessageInitShape<typeof ToolValueSchema> {
  let encoded;
  try {
    encoded = encodeArguments({ result: value });
  } catch (error) {
    const reason = SnakepitError.isInstance(error) ? String(error.details.reason) : String(error);
    throw hostErrors.hostToolResultUnencodable(tool, reason, error);
  }
  if (encoded.binary.result !== undefined) return { kind: { case: 'binary', value: encoded.binary.result } };
  return { kind: { case: 'json', value: encoded.json.result ?? jsonToWire(null) } };
}
