/** Runs a command in a container (exec) and waits, bounded, for its exit code; the output's tail is kept. */
import type Docker from 'dockerode';
import { PassThrough } from 'node:stream';

export interface ExecResult { ok: boolean; exitCode?: number; output: string; timedOut?: boolean }

/** Output kept from a command (its tail: where the error usually is). Bounded: a chatty command must not fill memory. */
const OUTPUT_LIMIT = 2048;

export async function execInContainer(docker: Docker, containerId: string, cmd: string[], timeoutMs: number): Promise<ExecResult> {
  const exec = await docker.getContainer(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: false });
  const stream = await exec.start({ hijack: true, stdin: false });
  let output = '';
  const keep = (chunk: Buffer) => { output = (output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT); };
  const out = new PassThrough();
  out.on('data', keep);
  docker.modem.demuxStream(stream, out, out);
  let timer: NodeJS.Timeout | undefined;
  const ended = new Promise<boolean>((resolve) => {
    stream.on('end', () => resolve(true));
    stream.on('close', () => resolve(true));
    stream.on('error', () => resolve(true));
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const finished = await ended;
  clearTimeout(timer);
  if (!finished) {
    stream.destroy();
    return { ok: false, output: output.trim(), timedOut: true };
  }
  const info = await exec.inspect();
  const exitCode = info.ExitCode ?? undefined;
  return { ok: exitCode === 0, exitCode: exitCode ?? undefined, output: output.trim() };
}
