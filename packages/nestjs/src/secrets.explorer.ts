import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { SecretStore, type LoggerLike, type RotationInfo } from '@hush/core';
import { describeError } from '@hush/core/internal';
import { SECRETS_LOGGER } from './secrets.constants';
import { getSecretUsages } from './secret-usage.metadata';

/**
 * Binds decorated members of every singleton provider and controller once the app initialises:
 * `@InjectSecret` properties become read-only accessors on the instance (deleting the own field
 * an ES2022 class emits), and `@OnSecretRotation` methods subscribe to their secret. On shutdown
 * it unsubscribes and closes the store, which stops the refresh loop.
 */
@Injectable()
export class SecretsExplorer implements OnModuleInit, OnApplicationShutdown {
  readonly #bound = new WeakSet<object>();
  readonly #unsubscribes: Array<() => void> = [];
  readonly #running = new Set<Promise<void>>();

  constructor(
    private readonly store: SecretStore,
    private readonly discovery: DiscoveryService,
    @Inject(SECRETS_LOGGER) private readonly logger: LoggerLike,
  ) {}

  onModuleInit(): void {
    const unsupported = new Set<string>();
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const instance = wrapper.instance as Record<string | symbol, unknown> | null | undefined;
      if (!instance || typeof instance !== 'object') continue;
      const usages = getSecretUsages(instance.constructor).filter((u) => u.kind !== 'parameter');
      if (usages.length === 0) continue;
      if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient) {
        unsupported.add(instance.constructor.name);
        continue;
      }
      if (this.#bound.has(instance)) continue;
      this.#bound.add(instance);
      for (const usage of usages) {
        if (usage.kind === 'property') this.#bindProperty(instance, usage.property, usage.name);
        else if (usage.kind === 'rotation') this.#bindRotation(instance, usage.method, usage.name);
      }
    }
    for (const name of unsupported) {
      this.logger.warn(
        `${name} is request-scoped or transient: its @InjectSecret properties and @OnSecretRotation hooks are not bound. ` +
          'Inject the live handle in the constructor instead: @InjectSecret(name) secret: Secret<T>.',
      );
    }
  }

  /** Resolves when every rotation hook started so far has settled (used by `rotateSecret`). */
  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  async onApplicationShutdown(): Promise<void> {
    for (const unsubscribe of this.#unsubscribes.splice(0)) unsubscribe();
    await this.store.close();
  }

  #bindProperty(instance: object, property: string | symbol, name: string): void {
    const store = this.store;
    // With [[Define]] semantics the class emitted an own field initialised to undefined; it would shadow any accessor.
    delete (instance as Record<string | symbol, unknown>)[property];
    Object.defineProperty(instance, property, {
      configurable: true,
      enumerable: false,
      get: () => store.get(name),
      set: () => {
        throw new TypeError(
          `${instance.constructor.name}.${String(property)} is bound to secret "${name}" by @InjectSecret and is read-only.`,
        );
      },
    });
  }

  #bindRotation(instance: object, method: string | symbol, name: string): void {
    const owner = instance.constructor.name;
    const hook = (instance as Record<string | symbol, unknown>)[method];
    if (typeof hook !== 'function') return;
    const run = async (next: unknown, info: RotationInfo): Promise<void> => {
      try {
        await hook.call(instance, next, info);
      } catch (error) {
        this.logger.error(
          `@OnSecretRotation hook ${owner}.${String(method)}() for secret "${name}" (version ${info.version.slice(0, 8)}) failed: ` +
            `${describeError(error, next)}. Other hooks and the refresh loop continue.`,
        );
      }
    };
    const unsubscribe = this.store.subscribe(name, (next: unknown, info: RotationInfo) => {
      const running = run(next, info).finally(() => this.#running.delete(running));
      this.#running.add(running);
      return running;
    });
    this.#unsubscribes.push(unsubscribe);
  }
}
