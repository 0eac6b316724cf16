import { plainText, type MessageView } from '../format.js';
import type { EmailChannel } from '../types.js';

export interface MailSpec {
  from: string | { name: string; address: string };
  to: string[];
  subject: string;
  text: string;
}

/** A plain-text mail: the title as the subject, one paragraph per event. */
export function renderEmail(ch: EmailChannel, m: MessageView): MailSpec {
  return {
    from: ch.fromName ? { name: ch.fromName, address: ch.from } : ch.from,
    to: ch.to,
    subject: m.title,
    text: `${plainText(m)}\n\n-- \ndosync${m.project ? `, project ${m.project}` : ''}\n`,
  };
}
