import type { Repositories } from '../adapters/db/repositories/index.js';
import type { ExportRow } from '../adapters/db/schema.js';
import type { Mailer } from '../adapters/mail/mailer.js';
import { composeExportEmail, notificationBackoffMs } from '../domain/export-email.js';

export interface NotificationOptions {
  /** Base of links in messages, e.g. https://cohort.lab.example */
  publicUrl: string;
  maxAttempts: number;
  retryBaseMs: number;
  log?: (message: string) => void;
}

/**
 * Emails creators when their exports complete or fail. Finishing an export only marks its
 * notification as pending; delivery happens here, with retries and backoff, so a slow or refusing
 * mail server never delays or fails an export, and a crash between the two loses nothing.
 */
export class NotificationService {
  private running: Promise<void> | undefined;

  constructor(
    private readonly repos: Repositories,
    private readonly mailer: Mailer,
    private readonly options: NotificationOptions,
  ) {}

  /** Sends whatever is due; concurrent calls share one pass. */
  deliverDue(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<void> {
    const due = await this.repos.exports.notificationsDue(new Date().toISOString(), 20);
    for (const row of due) await this.deliver(row);
  }

  private async deliver(row: ExportRow): Promise<void> {
    const now = new Date();
    // Lease the message for a minute so that another worker does not send it at the same time.
    const leased = await this.repos.exports.leaseNotification(row.id, row.notification_attempts, new Date(now.getTime() + 60_000).toISOString());
    if (!leased) return;
    const attempt = row.notification_attempts + 1;
    const [creator, project] = await Promise.all([this.repos.users.findById(row.created_by), this.repos.projects.findById(row.project_id)]);
    if (!creator || !project || !creator.export_emails || creator.disabled_at || row.deleted_at || (row.status !== 'completed' && row.status !== 'failed')) {
      await this.repos.exports.update(row.id, { notification_status: 'skipped', notification_next_at: null });
      return;
    }
    const base = this.options.publicUrl.replace(/\/+$/, '');
    const email = composeExportEmail({
      recipientName: creator.display_name,
      projectName: project.name,
      export: {
        name: row.name,
        status: row.status,
        patientCount: row.patient_count,
        fileCount: row.file_count,
        bytes: row.zip_size ?? row.total_bytes,
        expiresAt: row.expires_at,
        errorMessage: row.error_message,
      },
      links: {
        management: `${base}/p/${project.slug}/exports?highlight=${row.id}`,
        download: `${base}/api/${project.slug}/exports/${row.id}/download`,
      },
    });
    try {
      await this.mailer.send({ to: creator.email, ...email });
      await this.repos.exports.update(row.id, { notification_status: 'sent', notified_at: new Date().toISOString(), notification_next_at: null, notification_error: null });
      this.options.log?.(`export ${row.id}: notified ${creator.email} via ${this.mailer.description}`);
    } catch (error) {
      const message = (error as Error).message ?? String(error);
      const giveUp = attempt >= this.options.maxAttempts;
      await this.repos.exports.update(row.id, {
        notification_status: giveUp ? 'failed' : 'pending',
        notification_error: message.slice(0, 1000),
        notification_next_at: giveUp ? null : new Date(Date.now() + notificationBackoffMs(attempt, this.options.retryBaseMs)).toISOString(),
      });
      this.options.log?.(`export ${row.id}: sending the notification failed (attempt ${attempt}${giveUp ? ', giving up' : ''}): ${message}`);
    }
  }
}
