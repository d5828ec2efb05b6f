import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as realSetTimeout } from 'node:timers';

/** A JSON object, as read from and written to the wire. */
export type Json = Record<string, unknown>;

const MAX_BODY_BYTES = 1024 * 1024;

/** Drops undefined members so absent fields are omitted, like AWS. */
export function compact<T extends Json>(obj: T): T {
  for (const key of Object.keys(obj)) if (obj[key] === undefined) delete obj[key];
  return obj;
}

/** Sleeps on the real clock (node:timers is not replaced by jest fake timers). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => realSetTimeout(resolve, ms));
}

/** Reads a request body, up to 1 MiB. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`Request body over ${MAX_BODY_BYTES} bytes.`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** An AWS JSON 1.1 reply: `Content-Type: application/x-amz-json-1.1` and an `x-amzn-RequestId`. */
export function sendAwsJson(res: ServerResponse, status: number, body: Json): void {
  send(res, status, JSON.stringify(body), {
    'Content-Type': 'application/x-amz-json-1.1',
    'x-amzn-RequestId': randomUUID(),
  });
}

/** A reply without Content-Type, as the Agent sends them (hyper's default): a string as is, an object as JSON. */
export function sendBare(res: ServerResponse, status: number, body: string | Json): void {
  send(res, status, typeof body === 'string' ? body : JSON.stringify(body), {});
}

function send(res: ServerResponse, status: number, payload: string, headers: Record<string, string>): void {
  if (res.destroyed) return;
  res.writeHead(status, { ...headers, 'Content-Length': Buffer.byteLength(payload) });
  res.end(payload);
}

/** Keeps the set of open sockets of `server`, so close() can destroy hung ones. */
export function trackSockets(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return sockets;
}

/** Listens on `port`/`host`; resolves with the bound port, rejects on a listen error (e.g. EADDRINUSE). */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
