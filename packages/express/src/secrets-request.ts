/**
 * The registry `req.secrets` is typed from. Empty until you augment it with your declarations,
 * the same way `express-session` types `req.session` through `SessionData`.
 *
 * @example
 * const secrets = defineSecrets({ db: { id: 'prod/app/db', format: 'json', schema: Db }, apiKey: 'prod/app/api-key' });
 *
 * declare module '@hush/express' {
 *   interface HushSecrets extends InferSecrets<typeof secrets> {}
 * }
 *
 * app.get('/', (req, res) => res.send(req.secrets.db.username)); // typed, no cast
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- empty on purpose: applications augment it (declaration merging)
export interface HushSecrets {}

declare global {
  // Declaration merging with the global namespace that @types/express (4 and 5) declares.
  // eslint-disable-next-line @typescript-eslint/no-namespace -- @types/express declares `Express` as a global namespace; merging needs one
  namespace Express {
    interface Request {
      /**
       * The secrets this request may read, from one generation of values (set by
       * `hush.middleware()`). Read-only, non-enumerable, prints `[redacted]`.
       */
      readonly secrets: HushSecrets;
    }
  }
}
