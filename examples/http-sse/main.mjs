// An HTTP service in front of the pool. GET /progress?steps=10 runs a streaming Python tool and
// forwards each chunk to the client as a Server-Sent Event (`progress` events, then one `done`);
// a client that goes away cancels the stream in Python. GET /add?a=40&b=2 is a plain JSON call.
// Run: node examples/http-sse/main.mjs, then: curl -N 'http://127.0.0.1:3000/progress?steps=10'
// (PORT=0 picks a free port; Ctrl-C stops the server and the pool.)
import http from 'node:http';
import { createPool, SnakepitError } from '@snakepit/sdk';
import { pythonAdapter } from '@snakepit/adapter-python';

const pool = createPool({
  adapter: pythonAdapter({ adapter: 'snakepit_bridge.adapters.showcase.ShowcaseAdapter' }),
  size: 2,
});

function boundedInteger(url, name, fallback, max) {
  const text = url.searchParams.get(name);
  const value = text === null ? fallback : Number(text);
  return Number.isInteger(value) && value >= 1 && value <= max ? value : undefined;
}

function sendJson(response, status, body) {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function sendEvent(response, id, event, data) {
  response.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

async function streamProgress(url, response) {
  const steps = boundedInteger(url, 'steps', 10, 1000);
  const delayMs = boundedInteger(url, 'delay_ms', 100, 10_000);
  if (steps === undefined || delayMs === undefined) return sendJson(response, 400, { error: 'steps and delay_ms must be whole numbers from 1' });
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  // The client left (or the response ended): stop the Python generator instead of computing for nobody.
  const controller = new AbortController();
  response.once('close', () => controller.abort());
  let id = 0;
  try {
    for await (const chunk of pool.executeStream('stream_progress', { steps, delay_ms: delayMs }, { signal: controller.signal })) {
      const { step, total, progress, message } = chunk;
      sendEvent(response, ++id, chunk.is_final ? 'done' : 'progress', { step, total, progress, message });
    }
  } catch (error) {
    if (controller.signal.aborted) return;
    sendEvent(response, ++id, 'error', SnakepitError.isInstance(error) ? { code: error.code, message: error.message } : { code: 'internal' });
  } finally {
    response.end();
  }
}

async function add(url, response) {
  try {
    sendJson(response, 200, { sum: await pool.execute('add', { a: Number(url.searchParams.get('a')), b: Number(url.searchParams.get('b')) }) });
  } catch (error) {
    sendJson(response, 500, { code: error.code, message: error.message });
  }
}

const server = http.createServer((request, response) => {
  const url = new URL(request.url, 'http://localhost');
  if (request.method === 'GET' && url.pathname === '/progress') return void streamProgress(url, response);
  if (request.method === 'GET' && url.pathname === '/add') return void add(url, response);
  sendJson(response, 404, { error: `no route for ${request.method} ${url.pathname}` });
});

await pool.ready();
server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const { port } = server.address();
  console.log(`listening on http://127.0.0.1:${port}`);
  console.log(`try: curl -N 'http://127.0.0.1:${port}/progress?steps=10'`);
});

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping`);
  // Open event streams end with their connections; their Python streams are cancelled.
  server.close();
  server.closeAllConnections();
  await pool.close();
  console.log('stopped');
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
