import { changeText, type EventView, type MessageView, type Severity } from '../format.js';
import type { HttpRequestSpec, TeamsChannel } from '../types.js';

const MAX_EVENTS = 30;
const COLOR: Record<Severity, string> = { info: 'Accent', success: 'Good', warning: 'Warning', error: 'Attention' };

/**
 * An Adaptive Card (schema 1.4) in a `message` envelope. Chosen over the older MessageCard because
 * Teams Workflows (Power Automate) webhooks accept only Adaptive Cards, and the retiring Office 365
 * connector webhooks accept them too, so one format serves both kinds of URL.
 */
export function renderTeams(ch: TeamsChannel, m: MessageView): HttpRequestSpec {
  const shown = m.events.slice(0, MAX_EVENTS);
  const body: object[] = [{ type: 'TextBlock', text: m.title, weight: 'Bolder', size: 'Medium', wrap: true }];
  for (const v of shown) body.push(...eventBlocks(v));
  if (shown.length < m.events.length) body.push({ type: 'TextBlock', text: `…and ${m.events.length - shown.length} more`, wrap: true, isSubtle: true });
  if (m.dashboard) body.push({ type: 'TextBlock', text: `[dashboard](${m.dashboard})`, wrap: true });
  const card = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    body,
    msteams: { width: 'Full' },
  };
  const payload = { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }] };
  return { method: 'POST', url: ch.url, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload) };
}

function eventBlocks(v: EventView): object[] {
  const facts: Array<{ title: string; value: string }> = [];
  const change = changeText(v, '→');
  if (change) facts.push({ title: 'Change', value: change });
  if (v.reason) facts.push({ title: 'Reason', value: v.reason });
  if (v.digest) facts.push({ title: 'Digest', value: v.digest });
  if (v.source) facts.push({ title: 'Source', value: v.source });
  if (v.revision) facts.push({ title: 'Revision', value: v.revision });
  const blocks: object[] = [{ type: 'TextBlock', text: v.headline, weight: 'Bolder', color: COLOR[v.severity], wrap: true, spacing: 'Medium' }];
  if (facts.length) blocks.push({ type: 'FactSet', facts });
  return blocks;
}
