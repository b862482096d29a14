/** The email a researcher gets when an export finishes. Pure: the notification service sends it. */
import { formatBytes } from './units.js';

export interface ExportEmailInput {
  recipientName: string;
  projectName: string;
  export: {
    name: string;
    status: 'completed' | 'failed';
    patientCount: number;
    fileCount: number;
    bytes: number;
    expiresAt: string | null;
    errorMessage: string | null;
  };
  links: { management: string; download: string };
}

export interface ComposedEmail {
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function composeExportEmail(input: ExportEmailInput): ComposedEmail {
  const e = input.export;
  const counts = `${e.patientCount} patient${e.patientCount === 1 ? '' : 's'}, ${e.fileCount} file${e.fileCount === 1 ? '' : 's'}, ${formatBytes(e.bytes)}`;
  const expires = e.expiresAt ? new Date(e.expiresAt).toUTCString() : null;
  if (e.status === 'completed') {
    const text = [
      `Hello ${input.recipientName},`,
      '',
      `Your export "${e.name}" in ${input.projectName} is ready (${counts}).`,
      '',
      `Download: ${input.links.download}`,
      `All your exports: ${input.links.management}`,
      ...(expires ? ['', `The ZIP is kept until ${expires}.`] : []),
      '',
      '— Cohort',
    ].join('\n');
    const html = [
      `<p>Hello ${escapeHtml(input.recipientName)},</p>`,
      `<p>Your export <strong>${escapeHtml(e.name)}</strong> in ${escapeHtml(input.projectName)} is ready (${escapeHtml(counts)}).</p>`,
      `<p><a href="${escapeHtml(input.links.download)}">Download the ZIP</a> · <a href="${escapeHtml(input.links.management)}">All your exports</a></p>`,
      ...(expires ? [`<p>The ZIP is kept until ${escapeHtml(expires)}.</p>`] : []),
      '<p>— Cohort</p>',
    ].join('\n');
    return { subject: `Export ready: ${e.name}`, text, html };
  }
  const reason = e.errorMessage ?? 'The server could not build it.';
  const text = [
    `Hello ${input.recipientName},`,
    '',
    `Your export "${e.name}" in ${input.projectName} could not be built.`,
    '',
    `Why: ${reason}`,
    '',
    `You can retry it from your exports: ${input.links.management}`,
    '',
    '— Cohort',
  ].join('\n');
  const html = [
    `<p>Hello ${escapeHtml(input.recipientName)},</p>`,
    `<p>Your export <strong>${escapeHtml(e.name)}</strong> in ${escapeHtml(input.projectName)} could not be built.</p>`,
    `<p>Why: ${escapeHtml(reason)}</p>`,
    `<p>You can retry it from <a href="${escapeHtml(input.links.management)}">your exports</a>.</p>`,
    '<p>— Cohort</p>',
  ].join('\n');
  return { subject: `Export failed: ${e.name}`, text, html };
}

/** Waits between send attempts: 1, 2, 4, 8 … times the base, capped. */
export function notificationBackoffMs(attempt: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempt - 1), 60 * 60_000);
}
