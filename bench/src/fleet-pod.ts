/**
 * One fleet pod as its own Node process (scenario 4, P=40 multi-process run). Loads its modules,
 * says `ready`, waits for `{ go: delayMs }` so every process starts within the same second
 * regardless of how long Node took to start, boots, reports its `PodResult` and exits.
 */
import { bootPod, type PodKind, type PodTarget } from './scenarios/fleet-pods';

interface PodJob {
  readonly kind: PodKind;
  readonly target: PodTarget;
  readonly ids: readonly string[];
}

let job: PodJob | undefined;
process.on('message', (message: PodJob | { go: number }) => {
  if ('go' in message) {
    const run = job!;
    setTimeout(() => {
      void bootPod(run.kind, run.target, run.ids).then((result) => process.send!(result, () => process.exit(0)));
    }, message.go);
  } else {
    job = message;
    process.send!('ready');
  }
});
