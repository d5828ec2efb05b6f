// Plain-node entry of `npm run sim`: TypeScript through @swc/core (register.cjs), workspace
// packages from their sources (the @hush/source export condition, set in package.json's script).
'use strict';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require('./register.cjs');
require('./cli.ts');
