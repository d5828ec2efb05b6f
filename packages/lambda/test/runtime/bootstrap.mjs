// A Lambda runtime loop (what aws-lambda-ric does, without its native part): INIT imports the
// handler module named by _HANDLER from LAMBDA_TASK_ROOT, then the loop speaks the Runtime API at
// AWS_LAMBDA_RUNTIME_API: GET /next, call the handler, POST the response or the error.
// An INIT failure is POSTed to /init/error and ends the process with exit code 1.
import { request } from 'node:http';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const api = process.env.AWS_LAMBDA_RUNTIME_API;
const base = `/2018-06-01/runtime`;

function call(method, path, body) {
  const [host, port] = api.split(':');
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      {
        host,
        port: Number(port),
        method,
        path: `${base}${path}`,
        agent: false,
        headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

// As aws-lambda-ric: the payload carries the stack as `trace`, and the runtime logs the error with
// every enumerable property (Errors.toFormatted), so both are searched for leaks.
function errorBody(error) {
  return {
    errorType: (error && error.name) || 'Error',
    errorMessage: (error && error.message) || String(error),
    trace: typeof error?.stack === 'string' ? error.stack.split('\n') : [],
  };
}

function logError(label, error) {
  const withProperties = (v) =>
    v instanceof Error
      ? { errorType: v.name, errorMessage: v.message, code: v.code, ...v, stack: String(v.stack).split('\n') }
      : v;
  let text;
  try {
    text = JSON.stringify(error, (_k, v) => withProperties(v));
  } catch {
    text = JSON.stringify(errorBody(error));
  }
  console.error(label, `\t${text}`);
}

async function loadHandler() {
  const [moduleName, exportName] = process.env._HANDLER.split('.');
  const root = process.env.LAMBDA_TASK_ROOT;
  const file = ['.mjs', '.cjs', '.js'].map((ext) => join(root, moduleName + ext)).find((f) => existsSync(f));
  if (!file)
    throw Object.assign(new Error(`Cannot find module '${moduleName}'`), { name: 'Runtime.ImportModuleError' });
  const mod = await import(pathToFileURL(file).href);
  const handler = mod[exportName] ?? mod.default?.[exportName];
  if (typeof handler !== 'function')
    throw Object.assign(new Error(`${moduleName}.${exportName} is undefined or not exported`), {
      name: 'Runtime.HandlerNotFound',
    });
  return handler;
}

let handler;
try {
  handler = await loadHandler();
} catch (error) {
  logError('Init Error', error);
  await call('POST', '/init/error', errorBody(error)).catch(() => undefined);
  process.exit(1);
}

for (;;) {
  const next = await call('GET', '/invocation/next');
  const id = next.headers['lambda-runtime-aws-request-id'];
  const deadline = Number(next.headers['lambda-runtime-deadline-ms']);
  const context = {
    awsRequestId: id,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    invokedFunctionArn: next.headers['lambda-runtime-invoked-function-arn'],
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  try {
    const result = await handler(JSON.parse(next.body), context);
    await call('POST', `/invocation/${id}/response`, result === undefined ? null : result);
  } catch (error) {
    logError('Invoke Error', error);
    await call('POST', `/invocation/${id}/error`, errorBody(error));
  }
}
