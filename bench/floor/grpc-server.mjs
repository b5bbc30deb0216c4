/** Starts bench/python/floor_server.py (a bare grpc.aio server) and waits for its port. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { benchPythonDirectory, pythonCommand } from '../lib/python.mjs';

export async function startFloorServer() {
  // stdin stays open as the server's lifeline: it exits when this process goes away.
  const child = spawn(pythonCommand(), [path.join(benchPythonDirectory, 'floor_server.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text) => {
      output += text;
      const match = /PORT (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`floor server exited (${code ?? signal}) before listening`)));
  });
  return {
    port,
    pid: child.pid,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}
