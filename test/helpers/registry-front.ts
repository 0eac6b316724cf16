/**
 * A small HTTP front for a test registry: every request is passed through to it, except what the
 * test shapes. Blob downloads can be slowed (a slow source, so a kill lands between two chunks the
 * way it does when mirroring from far away) or cut after a number of bytes (a source that dies
 * mid-blob); extra routes answer what the registry behind does not speak (the OCI 1.1 referrers API).
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FrontOptions {
  /** Blob GETs are sent at this rate (bytes/s). */
  blobRate?: number;
  /** Blob GETs are cut (socket destroyed) after this many bytes. */
  cutBlobAfter?: number;
  /** Blob GETs stop sending (the connection stays open) after this many bytes. */
  stallBlobAfter?: number;
  /** Answers a request itself when it returns true. */
  route?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export interface RegistryFront {
  host: string;
  options: FrontOptions;
  stop(): Promise<void>;
}

export async function startRegistryFront(upstream: string, options: FrontOptions = {}): Promise<RegistryFront> {
  const [upHost, upPort] = upstream.split(':') as [string, string];
  const server: Server = createServer((req, res) => {
    if (options.route?.(req, res)) return;
    const isBlob = req.method === 'GET' && /\/blobs\/sha256:[0-9a-f]{64}$/.test(req.url ?? '');
    const out = request({ host: upHost, port: Number(upPort), method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      if (!isBlob || (options.blobRate === undefined && options.cutBlobAfter === undefined && options.stallBlobAfter === undefined)) {
        up.pipe(res);
        return;
      }
      let sent = 0;
      const started = Date.now();
      up.on('data', (chunk: Buffer) => {
        if (options.cutBlobAfter !== undefined && sent + chunk.length > options.cutBlobAfter) {
          res.write(chunk.subarray(0, Math.max(0, options.cutBlobAfter - sent)));
          up.destroy();
          res.destroy();
          return;
        }
        if (options.stallBlobAfter !== undefined && sent + chunk.length > options.stallBlobAfter) {
          res.write(chunk.subarray(0, Math.max(0, options.stallBlobAfter - sent)));
          sent = options.stallBlobAfter;
          up.pause();
          return;
        }
        sent += chunk.length;
        if (!res.write(chunk)) up.pause();
        if (options.blobRate !== undefined) {
          const due = started + (sent / options.blobRate) * 1000 - Date.now();
          if (due > 0) {
            up.pause();
            setTimeout(() => up.resume(), due);
          }
        }
      });
      res.on('drain', () => {
        if (options.stallBlobAfter === undefined || sent < options.stallBlobAfter) up.resume();
      });
      up.on('end', () => res.end());
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    options,
    stop: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
