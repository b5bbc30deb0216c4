/**
 * Test fixture: a Python grpcio (asyncio) WorkerService, the kind of server the transport talks to
 * in production. It prints one line per notable server-side event (a handler cancelled by the
 * client's RST_STREAM, the deadline it saw) so tests can check what Python observed.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const generatedPythonPath = path.join(repositoryRoot, 'packages', 'adapter-python', 'python');

const serverSource = `
import asyncio, json, sys, grpc
from snakepit.bridge.v1 import common_pb2, worker_pb2, worker_pb2_grpc

def event(*words):
    print(" ".join(str(word) for word in words), flush=True)

class Worker(worker_pb2_grpc.WorkerServiceServicer):
    async def Ping(self, request, context):
        if request.message == "headers":
            return worker_pb2.PingResponse(message=json.dumps(dict(context.invocation_metadata())))
        if request.message == "fail":
            context.set_trailing_metadata((("x-error-detail", "abc"),))
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "bad thing: 100% \\u2713")
        if request.message == "hang":
            event("DEADLINE", "none" if context.time_remaining() is None else round(context.time_remaining(), 1))
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                event("CANCELLED", "ping")
                raise
        return worker_pb2.PingResponse(message="pong:" + request.message)

    async def ExecuteTool(self, request, context):
        payload = request.call.binary_parameters.get("payload", b"")
        return worker_pb2.ExecuteToolResponse(result=common_pb2.ToolValue(binary=payload))

    async def ExecuteStreamingTool(self, request, context):
        tool = request.call.tool_name
        try:
            index = 0
            while tool == "endless" or index < 5:
                yield worker_pb2.ExecuteStreamingToolResponse(chunks=[worker_pb2.StreamChunk(data=common_pb2.ToolValue(json=str(index).encode()))])
                index += 1
                if tool == "endless":
                    await asyncio.sleep(0.005)
            yield worker_pb2.ExecuteStreamingToolResponse(chunks=[worker_pb2.StreamChunk(is_final=True)])
        except asyncio.CancelledError:
            event("CANCELLED", tool)
            raise

async def main():
    limit = 64 * 1024 * 1024
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", limit)])
    worker_pb2_grpc.add_WorkerServiceServicer_to_server(Worker(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    event("PORT", port)
    await server.wait_for_termination()

asyncio.run(main())
`;

/** The project's Python (set up by `npm run setup`), or SNAKEPIT_PYTHON. Missing grpcio fails the test run. */
export function pythonCommand(): string {
  return process.env.SNAKEPIT_PYTHON ?? path.join(repositoryRoot, '.venv', 'bin', 'python');
}

export interface PythonTestServer {
  readonly baseUrl: string;
  /** Takes the first event line starting with `prefix` (already printed or still to come), as words. */
  event(prefix: string): Promise<string[]>;
  close(): void;
}

export async function startPythonTestServer(python: string): Promise<PythonTestServer> {
  const child = spawn(python, ['-c', serverSource], {
    env: { ...process.env, PYTHONPATH: generatedPythonPath },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiters: { prefix: string; resolve: (words: string[]) => void }[] = [];
  let pending = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (data: string) => {
    pending += data;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      const waiter = waiters.find((candidate) => line.startsWith(candidate.prefix));
      if (waiter === undefined) {
        lines.push(line);
      } else {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line.split(' '));
      }
    }
  });
  function event(prefix: string): Promise<string[]> {
    const seen = lines.findIndex((line) => line.startsWith(prefix));
    if (seen >= 0) return Promise.resolve((lines.splice(seen, 1)[0] as string).split(' '));
    return new Promise((resolve) => waiters.push({ prefix, resolve }));
  }
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`python test server exited with ${code}`))),
  );
  const [, port] = await Promise.race([event('PORT'), exited]);
  return { baseUrl: `http://127.0.0.1:${port}`, event, close: () => child.kill() };
}
