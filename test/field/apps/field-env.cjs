// Shared by the field apps: builds the store options the way an app reads its configuration,
// from the environment (HUSH_SOURCE, AWS_REGION, HUSH_AWS_ENDPOINT, HUSH_AGENT_URL, AWS_TOKEN,
// HUSH_SECRETS_DIR are read by sourceFromEnv). FIELD_SECRETS and FIELD_OPTIONS are JSON.
'use strict';
const { defineSecrets, mountedFiles, sourceFromEnv } = require('@hush/core');

function fieldConfig() {
  const secrets = defineSecrets(JSON.parse(process.env.FIELD_SECRETS ?? '{"a":"field/a"}'));
  const options = JSON.parse(process.env.FIELD_OPTIONS ?? '{}');
  const source = process.env.FIELD_SETTLE
    ? mountedFiles({ dir: process.env.HUSH_SECRETS_DIR, settle: Number(process.env.FIELD_SETTLE), pollInterval: false })
    : sourceFromEnv();
  const logger = {
    info: (m) => console.log(`[hush] ${m}`),
    warn: (m) => console.log(`[hush] ${m}`),
    error: (m) => console.error(`[hush] ${m}`),
  };
  return { secrets, options: { source, logger, ...options } };
}

module.exports = { fieldConfig };
