/** The HTTP endpoint: /healthz, /metrics, /v1/status, /v1/check, /v1/update, /v1/hooks/registry. */
export { startApiServer, type ApiServer, type ApiServerOptions, type ServiceStatus, type StatusDoc, type TriggerKind } from './server.js';
export { parseRegistryHook, HookPayloadError, type ParsedHook, type HookSource } from './hooks.js';
export { parseListen, isLoopback, type ListenAddress } from './listen.js';
