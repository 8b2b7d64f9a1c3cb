// Turns the page's typed message stream into progress lines on stderr.
import type { PageMessage } from '../protocol/messages.ts';

export function progressPrinter(quiet: boolean): (msg: PageMessage) => void {
  if (quiet) return () => {};
  const tty = process.stderr.isTTY;
  return (msg) => {
    if (msg.type === 'step') {
      const width = 24;
      const done = Math.round((msg.iter / Math.max(1, msg.of)) * width);
      const line = `[${msg.stage}] ${'#'.repeat(done)}${'.'.repeat(width - done)} ${msg.iter}/${msg.of}`;
      if (tty) process.stderr.write(`\r${line}${msg.iter >= msg.of ? '\n' : ''}`);
      else process.stderr.write(line + '\n');
    } else if (msg.type === 'log') process.stderr.write(`[${msg.level}] ${msg.text}\n`);
    else if (msg.type === 'gpu-error') process.stderr.write(`[gpu ${msg.kind} error] ${msg.message}\n`);
    else if (msg.type === 'device-lost') process.stderr.write(`[gpu] device lost (${msg.reason}): ${msg.message}\n`);
  };
}
