/**
 * A few hundred malformed ExecuteTool / ExecuteStreamingTool requests with the right token (see
 * support/malformed-tool-calls.ts) each come back as a ToolError (unary) or a final chunk carrying
 * one (stream) with a known code: never a transport error, never a hang. Every unary case is sent
 * twice, as its own RPC and on one shared call channel, and must be refused alike. Between batches
 * and at the end the worker still answers `add` correctly and is alive. One real Python worker,
 * called directly over gRPC (no pool in front to clean anything up): spawned as a pool spawns it,
 * and run as a service reached over TLS (bad input from the network).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Code, ConnectError, errorCodeName, type StreamChunk, type ToolError, type WorkerCallChannel } from '@snakepit/sdk/testing';
import { cases, type FuzzCase } from './support/malformed-tool-calls.js';
import { callTimeoutMs, useRawWorker, verbose } from './support/raw-worker.js';

for (const served of [false, true]) {
  describe(served ? 'a worker run as a service, over TLS' : 'a worker spawned as a pool spawns it', () => {
    const worker = useRawWorker({ served });
    let channel: WorkerCallChannel;

    beforeAll(() => {
      channel = worker.harness.openCallChannel();
    });

    /** What went wrong with one case, or undefined when it got the typed failure it should. */
    function checkToolError(fuzzCase: FuzzCase, error: ToolError | undefined): string | undefined {
      if (error === undefined) return 'no ToolError';
      const code = errorCodeName(error.code) ?? `unspecified (${error.code})`;
      if (verbose) {
        const details = new TextDecoder().decode(error.detailsJson).slice(0, 120);
        console.log(`${fuzzCase.mode} ${fuzzCase.label.slice(0, 100)} -> ${code} ${error.pythonType} ${details}`);
      }
      const { expect: expected } = fuzzCase;
      if (!expected.codes.includes(code)) {
        return `code ${JSON.stringify(code)} (${error.pythonType}: ${error.message.slice(0, 200)}), expected one of ${expected.codes.join(', ')}`;
      }
      if (error.message.length === 0) return 'empty message';
      let details: Record<string, unknown>;
      try {
        details = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(error.detailsJson)) as Record<string, unknown>;
      } catch (cause) {
        return `details_json is not a JSON document: ${(cause as Error).message}`;
      }
      if (details === null || typeof details !== 'object' || Array.isArray(details)) return 'details_json is not an object';
      if (code === 'invalid_parameter') {
        if (typeof details.key !== 'string' || typeof details.reason !== 'string') return `details ${JSON.stringify(details)} lack key/reason`;
        if (expected.key !== undefined && details.key !== expected.key) {
          return `names key ${JSON.stringify(details.key.slice(0, 40))}, expected ${JSON.stringify(expected.key.slice(0, 40))} (${details.reason})`;
        }
      }
      if (code === 'unknown_tool') {
        if (expected.tool !== undefined && details.tool !== expected.tool) return `unknown_tool names ${JSON.stringify(details.tool)}`;
        if (!Array.isArray(details.available) || !details.available.includes('add')) return 'unknown_tool does not list the available tools';
      }
      if (code === 'python_error') {
        if (error.pythonType.length === 0) return 'python_error without python_type';
        if (error.traceback.length === 0) return 'python_error without traceback';
        if (expected.pythonTypes !== undefined && !expected.pythonTypes.includes(error.pythonType)) {
          return `python_type ${error.pythonType} (${error.message.slice(0, 200)}), expected ${expected.pythonTypes.join(' or ')}`;
        }
      }
      return undefined;
    }

    async function runCase(fuzzCase: FuzzCase): Promise<string | undefined> {
      try {
        if (fuzzCase.mode === 'unary') {
          const response = await worker.client.executeTool({ call: fuzzCase.call }, worker.auth);
          if (response.result !== undefined) return `succeeded with a ${response.result.kind.case} result`;
          const problem = checkToolError(fuzzCase, response.error);
          if (problem !== undefined) return problem;
          const onChannel = await channel.execute({ call: fuzzCase.call, timeoutMs: callTimeoutMs }, AbortSignal.timeout(callTimeoutMs));
          if (onChannel.result !== undefined) return `succeeded on the channel with a ${onChannel.result.kind.case} result`;
          const channelProblem = checkToolError(fuzzCase, onChannel.error);
          return channelProblem === undefined ? undefined : `on the channel: ${channelProblem}`;
        }
        const chunks: StreamChunk[] = [];
        for await (const response of worker.client.executeStreamingTool({ call: fuzzCase.call }, worker.auth)) chunks.push(...response.chunks);
        const finals = chunks.filter((chunk) => chunk.isFinal).length;
        if (finals !== 1) return `stream had ${finals} final chunks (${chunks.length} chunks)`;
        const last = chunks.at(-1)!;
        if (!last.isFinal) return 'the final chunk is not the last one';
        if (chunks.slice(0, -1).some((chunk) => chunk.error !== undefined)) return 'an error on a non-final chunk';
        if (last.error === undefined) return `stream ended without an error (${chunks.length} chunks)`;
        if (last.data !== undefined) return 'the error chunk also carries data';
        return checkToolError(fuzzCase, last.error);
      } catch (error) {
        const connectError = ConnectError.from(error);
        return `transport error ${Code[connectError.code]}: ${connectError.rawMessage.slice(0, 300)}`;
      }
    }

    describe(`${cases.length} malformed tool calls with the right token`, () => {
      it('has a few hundred of them, unary and streaming', () => {
        expect(cases.length).toBeGreaterThanOrEqual(300);
        expect(cases.filter((fuzzCase) => fuzzCase.mode === 'stream').length).toBeGreaterThanOrEqual(100);
        expect(cases.filter((fuzzCase) => fuzzCase.mode === 'unary').length).toBeGreaterThanOrEqual(100);
      });

      const batchSize = 40;
      for (let start = 0; start < cases.length; start += batchSize) {
        const batch = cases.slice(start, start + batchSize);
        it(`cases ${start}-${start + batch.length - 1}: each gets a typed error, and the worker keeps serving`, async () => {
          const problems: string[] = [];
          for (const [offset, fuzzCase] of batch.entries()) {
            const problem = await runCase(fuzzCase);
            if (problem !== undefined) problems.push(`#${start + offset} ${fuzzCase.mode} ${fuzzCase.label}: ${problem}`);
          }
          expect(problems).toEqual([]);
          await worker.expectServing();
        });
      }

      it('answers them all at once too (60 concurrent), then still serves', async () => {
        const burst = cases.filter((fuzzCase) => !fuzzCase.label.includes('nested')).slice(0, 60);
        const problems = await Promise.all(burst.map((fuzzCase) => runCase(fuzzCase)));
        expect(problems.filter((problem) => problem !== undefined)).toEqual([]);
        await worker.expectServing();
        const described = await worker.client.describeTools({}, worker.auth);
        expect(described.tools.map((spec) => spec.name)).toContain('add');
      });
    });
  });
}
