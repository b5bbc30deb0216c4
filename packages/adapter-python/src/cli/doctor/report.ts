/** Prints the doctor's lines: a mark, a label, the verdict, details, and the fix of a failure. */
import { paint, type CliIo } from '../output.js';
import type { CheckLine, CheckStatus } from './checks.js';

const marks: Record<CheckStatus, string> = { ok: '✓', fail: '✗', skip: '-', note: '-' };
const labelWidth = 12;
const indent = ' '.repeat(2 + labelWidth + 1);

export function formatLine(line: CheckLine, io: Pick<CliIo, 'color'>): string {
  const style = line.status === 'ok' ? 'green' : line.status === 'fail' ? 'red' : 'yellow';
  const head = `${paint(io, style, marks[line.status])} ${line.label.padEnd(labelWidth)} ${line.summary}`;
  const details = (line.details ?? []).map((detail) => `${indent}${paint(io, 'dim', detail)}`);
  const fix = line.fix === undefined ? [] : [`${indent}${paint(io, 'bold', 'fix:')} ${line.fix}`];
  return [head, ...details, ...fix].join('\n') + '\n';
}

export function formatVerdict(lines: readonly CheckLine[], io: Pick<CliIo, 'color'>): string {
  const failed = lines.filter((line) => line.status === 'fail').length;
  if (failed === 0) return `\n${paint(io, 'green', 'All checks passed.')}\n`;
  return `\n${paint(io, 'red', `${failed} check${failed === 1 ? '' : 's'} failed.`)} Run each "fix:" line, then \`npx snakepit doctor\` again.\n`;
}
