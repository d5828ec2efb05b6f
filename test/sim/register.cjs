// A require hook for the simulation's plain-node entry (`npm run sim`): compiles TypeScript with
// @swc/core (already a devDependency, used by Jest) the way jest.config.js does. Run node with
// `--conditions=@hush/source` so workspace packages resolve to their sources, like the tests.
'use strict';
const fs = require('node:fs');
const { transformSync } = require('@swc/core');

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    sourceMaps: 'inline',
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
