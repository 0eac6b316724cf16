/**
 * undici's dispatcher API without the rest of undici. The package's index also loads fetch, WebSocket,
 * EventSource, the cache stores, mocks and proxy agents: about 55 ms of start-up and 9 MB of memory
 * that a tag check never uses. These three files are what `Agent#request` needs; undici's own index
 * wires them the same way (it copies the api onto Dispatcher.prototype). The types are undici's.
 * fetch (used only for cloud credential flows) is loaded on demand by `lazyFetch`.
 */
import type * as Undici from 'undici';
import type { Dispatcher } from 'undici';
// @ts-expect-error deep import of an untyped CommonJS file; typed through `typeof Undici` below
import AgentImpl from 'undici/lib/dispatcher/agent.js';
// @ts-expect-error as above
import DispatcherImpl from 'undici/lib/dispatcher/dispatcher.js';
// @ts-expect-error as above
import api from 'undici/lib/api/index.js';

Object.assign((DispatcherImpl as { prototype: object }).prototype, api);

export const Agent = AgentImpl as typeof Undici.Agent;
export type Agent = Undici.Agent;
export type { Dispatcher };

/** undici's fetch, imported on first call (the full package loads only where a credential flow runs). */
export function lazyFetch(dispatcher?: Dispatcher): (url: string | URL, init?: Undici.RequestInit) => Promise<Undici.Response> {
  return async (url, init) => {
    const { fetch } = await import('undici');
    return fetch(url, dispatcher ? { ...init, dispatcher } : init);
  };
}
