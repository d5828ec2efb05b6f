import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Emulator } from './emulator';
import { ServiceError } from './errors';
import type { FaultOptions } from './faults';
import { sendAwsJson, type Json } from './http';
import { rotationJson } from './rotation';

/** Path prefix of the control API. */
export const CONTROL_PREFIX = '/_emulator/';

/** Serves one `/_emulator/…` request (see the README's control API table). */
export function handleControl(
  emu: Emulator,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  raw: Buffer,
): void {
  const route = path.slice(CONTROL_PREFIX.length);
  const method = req.method ?? 'GET';
  let body: Json = {};
  try {
    if (raw.length > 0) body = JSON.parse(raw.toString('utf8')) as Json;
  } catch {
    sendAwsJson(res, 400, { error: 'Body must be JSON.' });
    return;
  }
  const ok = (payload: Json = { ok: true }) => sendAwsJson(res, 200, payload);
  try {
    if (route === 'health' && method === 'GET')
      return ok({
        status: 'ok',
        url: emu.url,
        secrets: emu.store.list().length,
        parameters: emu.parameters.list().length,
      });
    if (route === 'calls' && method === 'GET') return ok({ ...emu.calls(), throttled: emu.throttled() });
    if (route === 'reset-calls' && method === 'POST') return (emu.resetCalls(), ok());
    if (route === 'faults' && method === 'POST') return ok({ id: emu.injectFault(body as FaultOptions) });
    if (route === 'faults' && method === 'GET') return ok({ faults: emu.activeFaults() });
    if (route === 'faults' && method === 'DELETE') return (emu.clearFaults(), ok());
    if (route === 'throttle' && method === 'POST') {
      const op = body.operation === undefined ? '*' : (body.operation as string | null);
      if (op === null || body.ratePerSecond === undefined || body.ratePerSecond === null) emu.setThrottle(op, null);
      else
        emu.setThrottle(op, {
          ratePerSecond: Number(body.ratePerSecond),
          burst: body.burst === undefined ? undefined : Number(body.burst),
        });
      return ok();
    }
    if (route === 'rotations' && method === 'GET') return ok({ rotations: emu.rotations().map(rotationJson) });
    if (route === 'rotations/run-due' && method === 'POST') {
      const advance = body.advance as number | string | undefined;
      const started = advance === undefined ? emu.runDueRotations() : emu.advanceClock(advance as never);
      return ok({ started: started.map(rotationJson), now: new Date(emu.now()).toISOString() });
    }
    if (route === 'throttle' && method === 'DELETE') return (emu.setThrottle(null), ok());
    if (route === 'secrets' && method === 'GET') return ok({ secrets: emu.store.list().map((s) => s.name) });
    if (route.startsWith('secrets/')) {
      const id = decodeURIComponent(route.slice('secrets/'.length));
      if (method === 'POST') {
        const value =
          typeof body.binary === 'string'
            ? Buffer.from(body.binary, 'base64')
            : typeof body.value === 'string'
              ? body.value
              : undefined;
        return ok(value === undefined ? emu.rotate(id) : emu.putSecret(id, value));
      }
      if (method === 'DELETE') {
        const force = new URL(req.url ?? '/', 'http://x').searchParams.get('force') === 'true' || body.force === true;
        return (emu.deleteSecret(id, { force }), ok());
      }
    }
    if (route === 'parameters' && method === 'GET') return ok({ parameters: emu.parameters.list().map((p) => p.name) });
    if (route.startsWith('parameters/')) {
      // The name keeps its leading slash: POST /_emulator/parameters/%2Fapp%2Furl (or /_emulator/parameters//app/url).
      const name = decodeURIComponent(route.slice('parameters/'.length));
      if (method === 'POST') {
        if (typeof body.value !== 'string')
          throw new TypeError('POST /_emulator/parameters/<name> needs {"value": "..."}.');
        return ok(
          emu.putParameter(name, body.value, {
            ...(typeof body.type === 'string' ? { type: body.type as never } : {}),
            ...(Array.isArray(body.labels) ? { labels: body.labels as string[] } : {}),
          }),
        );
      }
      if (method === 'DELETE') return (emu.deleteParameter(name), ok());
    }
    sendAwsJson(res, 404, { error: `No control route ${method} /_emulator/${route}.` });
  } catch (err) {
    sendAwsJson(res, 400, {
      error: (err as Error).message,
      ...(err instanceof ServiceError ? { __type: err.code } : {}),
    });
  }
}
