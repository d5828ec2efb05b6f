import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { SecretStore, type LoggerLike, type RotationInfo } from '@hush/core';
import { describeError, hiddenAccessors } from '@hush/core/internal';
import { SECRETS_LOGGER } from './secrets.constants';
import { getSecretUsages } from './secret-usage.metadata';

/** Where a bound instance keeps its store (read by the prototype accessors of @InjectSecret properties). */
const STORE = Symbol('hush.store');

/**
 * Binds decorated members of every singleton provider and controller once the app initialises:
 * `@InjectSecret` properties become read-only accessors (deleting the own field an ES2022 class
 * emits) on prototypes spliced between the instance and its class's prototype, and `@OnSecretRotation` methods subscribe to their secret. On shutdown
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
      const properties: Array<{ property: string | symbol; name: string }> = [];
      for (const usage of usages) {
        if (usage.kind === 'property') properties.push(usage);
        else if (usage.kind === 'rotation') this.#bindRotation(instance, usage.method, usage.name);
      }
      if (properties.length > 0) this.#bindProperties(instance, properties);
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

  #bindProperties(instance: object, properties: ReadonlyArray<{ property: string | symbol; name: string }>): void {
    const owner = instance.constructor.name;
    // The instance holds only its store (non-enumerable; a store prints no value under any inspect
    // options). The accessors sit a few prototypes below the instance, between it and its class's
    // prototype, where util.inspect with `showHidden` / `getters: true` never lists or calls them.
    const accessors: PropertyDescriptorMap = {};
    for (const { property, name } of properties) {
      // With [[Define]] semantics the class emitted an own field initialised to undefined; it would shadow the accessor.
      delete (instance as Record<string | symbol, unknown>)[property];
      accessors[property] = {
        configurable: true,
        enumerable: false,
        get(this: { [STORE]: SecretStore }) {
          return this[STORE].get(name);
        },
        set() {
          throw new TypeError(
            `${owner}.${String(property)} is bound to secret "${name}" by @InjectSecret and is read-only.`,
          );
        },
      };
    }
    Object.defineProperty(instance, STORE, { configurable: true, enumerable: false, value: this.store });
    Object.setPrototypeOf(instance, hiddenAccessors(Object.getPrototypeOf(instance) as object, accessors, 0));
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
