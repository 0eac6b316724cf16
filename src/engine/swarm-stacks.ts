/**
 * What a whole-host dosync (`--all`) learns of the swarm stacks an engine runs: the labels of every stack
 * service, when the engine is a swarm manager (else none: a worker or a plain engine runs no stacks to update).
 */
import type Docker from 'dockerode';
import { LABEL_STACK } from './docker.js';

export async function stackServiceLabels(docker: Docker): Promise<Array<{ labels: Record<string, string> }>> {
  const info = (await docker.info()) as { Swarm?: { ControlAvailable?: boolean } };
  if (!info.Swarm?.ControlAvailable) return [];
  const services = (await docker.listServices({ filters: { label: [LABEL_STACK] } })) as Array<{ Spec?: { Labels?: Record<string, string> } }>;
  return services.map((s) => ({ labels: s.Spec?.Labels ?? {} }));
}
