import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Mailer, MailMessage } from './mailer.js';

/**
 * Without an SMTP server, messages are written as .eml files (openable by any mail program), so
 * nothing is lost and anyone can see what would have been sent.
 */
export class OutboxMailer implements Mailer {
  private readonly builder = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  readonly description: string;

  constructor(
    private readonly dir: string,
    private readonly from: string,
  ) {
    this.description = `outbox ${dir}`;
  }

  async send(message: MailMessage): Promise<void> {
    const info = await this.builder.sendMail({ from: this.from, to: message.to, subject: message.subject, text: message.text, html: message.html });
    await fs.promises.mkdir(this.dir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const file = path.join(this.dir, `${stamp}-${randomBytes(3).toString('hex')}.eml`);
    await fs.promises.writeFile(`${file}.tmp`, info.message as Buffer);
    await fs.promises.rename(`${file}.tmp`, file);
  }
}
