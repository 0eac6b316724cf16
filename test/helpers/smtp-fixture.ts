/**
 * Protocol fixture: a real SMTP server (smtp-server, the server half of nodemailer's project) on
 * loopback that accepts mail, optionally demands AUTH, and hands back each message parsed by mailparser.
 * No STARTTLS is offered, so clients must be configured for plain SMTP (or fail when they demand TLS).
 */
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';

export interface ReceivedMail {
  envelopeFrom: string;
  envelopeTo: string[];
  /** The user that authenticated, if any. */
  user?: string;
  mail: ParsedMail;
}

export interface SmtpFixture {
  port: number;
  messages: ReceivedMail[];
  /** AUTH attempts, successful or not. */
  authAttempts: number;
  /** Sessions opened (a retry opens a new one). */
  connections: number;
  close(): Promise<void>;
}

export async function startSmtpFixture(opts: { users?: Record<string, string> } = {}): Promise<SmtpFixture> {
  const fixture: SmtpFixture = { port: 0, messages: [], authAttempts: 0, connections: 0, close: async () => undefined };
  const users = opts.users;
  const server = new SMTPServer({
    disabledCommands: users ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !users,
    allowInsecureAuth: true,
    logger: false,
    onConnect(_session, callback) {
      fixture.connections++;
      callback();
    },
    onAuth(auth, _session, callback) {
      fixture.authAttempts++;
      if (users && auth.username !== undefined && users[auth.username] === auth.password) return callback(null, { user: auth.username });
      return callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          fixture.messages.push({
            envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            envelopeTo: session.envelope.rcptTo.map((r) => r.address),
            user: typeof session.user === 'string' ? session.user : undefined,
            mail,
          });
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fixture.port = (server.server.address() as AddressInfo).port;
  fixture.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return fixture;
}
