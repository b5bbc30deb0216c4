/**
 * The tools module's tools: what DescribeTools and RegisterTools report, and how one call is
 * checked (unknown tool, bad or unexpected arguments) and run. A tool is an entry of the module's
 * `tools` export:
 *
 *   greet: {
 *     description: 'Greets someone',
 *     parameters: { name: { required: true }, excited: { default: false } }, // optional: any arguments
 *     run({ name, excited }, context) { ... },       // value, Promise, or (streaming) async generator
 *     streaming: false,
 *   }
 */
import { create } from '@bufbuild/protobuf';
import { ToolSpecSchema } from '../gen/snakepit/bridge/v1/common_pb.js';
import { decodeArguments, encodeJson, invalidParameter, ToolFailure } from './values.js';

const toolName = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The reason a call stopped early: its signal fired (cancel, deadline, channel end, shutdown). */
export class CallAborted extends Error {}

export class Dispatcher {
  constructor(tools) {
    if (tools === null || typeof tools !== 'object') throw new TypeError('the tools module must export `tools`, an object of tools by name');
    for (const [name, tool] of Object.entries(tools)) {
      if (!toolName.test(name) || name.length > 64) throw new TypeError(`tool name "${name}" must match ${toolName} and have at most 64 characters`);
      if (typeof tool?.run !== 'function') throw new TypeError(`tool "${name}" has no run() function`);
    }
    this.tools = tools;
    this.names = Object.keys(tools).sort();
  }

  /** `ToolSpec`s in the shape the Python worker sends: parameters as `[{name, required, default?}]`. */
  specs() {
    return this.names.map((name) => {
      const tool = this.tools[name];
      const parameters = Object.entries(tool.parameters ?? {}).map(([parameter, spec]) => ({
        name: parameter,
        required: spec.required === true,
        ...('default' in spec ? { default: spec.default } : {}),
      }));
      return create(ToolSpecSchema, {
        name,
        description: tool.description ?? '',
        supportsStreaming: tool.streaming === true,
        parametersJson: encodeJson(parameters),
      });
    });
  }

  /** The tool and its arguments, or a `ToolFailure` the caller gets before anything runs. */
  prepare(call) {
    const name = call.toolName;
    const tool = Object.hasOwn(this.tools, name) ? this.tools[name] : undefined;
    if (tool === undefined) throw new ToolFailure('unknown_tool', `unknown tool "${name}"`, { tool: name, available: this.names });
    const args = decodeArguments(call);
    if (tool.parameters !== undefined) bindArguments(tool.parameters, args);
    return { name, tool, args };
  }

  /** Runs a unary call; a streaming tool's items are collected into a list, as Python does. */
  async run({ tool, args }, context) {
    const result = await untilAborted(Promise.resolve().then(() => tool.run(args, context)), context.signal);
    if (!isAsyncIterable(result)) return result;
    const items = [];
    for await (const item of result) {
      if (context.signal.aborted) throw new CallAborted();
      items.push(item);
    }
    return items;
  }
}

function bindArguments(parameters, args) {
  for (const key of Object.keys(args)) {
    if (!Object.hasOwn(parameters, key)) throw invalidParameter(key, 'unexpected parameter');
  }
  for (const [name, spec] of Object.entries(parameters)) {
    if (Object.hasOwn(args, name)) continue;
    if (spec.required === true) throw invalidParameter(name, 'missing required parameter');
    if ('default' in spec) args[name] = structuredClone(spec.default);
  }
}

export function isAsyncIterable(value) {
  return value !== null && typeof value === 'object' && typeof value[Symbol.asyncIterator] === 'function';
}

/**
 * Settles with the work, or rejects with `CallAborted` as soon as the signal fires, so the call's
 * slot is free at once even when a tool ignores its signal.
 */
export function untilAborted(work, signal) {
  if (signal.aborted) return Promise.reject(new CallAborted());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new CallAborted());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
