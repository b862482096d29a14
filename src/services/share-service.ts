import { randomBytes, randomUUID } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import type { Repositories } from '../adapters/db/repositories/index.js';
import type { ExportRow, ExportShareRow, UserRow } from '../adapters/db/schema.js';
import { AppError, forbidden, unauthorized, validationError } from '../domain/errors.js';
import type { Actor } from '../domain/policy.js';
import { sha256Hex, type RequestMeta } from './auth-service.js';
import type { ByteRange, ExportDownload, ExportService } from './export-service.js';

export interface ShareOptions {
  publicUrl: string;
  /** `link` shares (no sign-in) exist only when the server allows them. */
  allowPublicLinks: boolean;
}

export interface CreateShareInput {
  access: 'members' | 'link';
  expiresInDays?: number;
  maxDownloads?: number;
}

const DEFAULT_DAYS = 7;

/** Wrong, revoked, expired and used-up links all answer alike, so a guess learns nothing. */
const linkNotFound = () => new AppError('not_found', 'share_not_found', 'This link is not valid. It may have expired or been revoked.');

/**
 * The bytes a link may serve in all: its download limit times the ZIP's size, plus a little for
 * what a broken connection had read ahead but never delivered (counted as sent, not refunded).
 */
const READ_AHEAD_SLACK = 2 * 1024 * 1024;
function allowance(share: ExportShareRow, zipSize: number): number | null {
  return share.max_downloads === null ? null : share.max_downloads * zipSize + READ_AHEAD_SLACK;
}

function shareState(share: ExportShareRow, now: Date, zipSize: number): 'active' | 'expired' | 'revoked' | 'used_up' {
  if (share.revoked_at) return 'revoked';
  if (Date.parse(share.expires_at) <= now.getTime()) return 'expired';
  if (share.max_downloads !== null && share.bytes_served >= share.max_downloads * zipSize) return 'used_up';
  return 'active';
}

/** Share links for completed exports: created by the creator or a project admin, opened by token. */
export class ShareService {
  constructor(
    private readonly repos: Repositories,
    private readonly exports: ExportService,
    private readonly options: ShareOptions,
  ) {}

  async create(actor: Actor, slug: string, exportId: string, input: CreateShareInput, meta: RequestMeta) {
    const { ctx, row } = await this.exports.deliverable(actor, slug, exportId);
    if (row.status !== 'completed') throw new AppError('conflict', 'not_ready', 'Only completed exports can be shared.');
    if (input.access === 'link' && !this.options.allowPublicLinks) {
      throw validationError('access', 'This server does not allow links that open without signing in (SHARE_PUBLIC_LINKS is off), since exports hold patient data.', 'public_links_disabled');
    }
    const now = new Date();
    const wanted = new Date(now.getTime() + (input.expiresInDays ?? DEFAULT_DAYS) * 86_400_000);
    const expiresAt = row.expires_at && Date.parse(row.expires_at) < wanted.getTime() ? new Date(row.expires_at) : wanted;
    const token = randomBytes(32).toString('base64url');
    const share: ExportShareRow = {
      id: randomUUID(),
      export_id: row.id,
      token_hash: sha256Hex(token),
      access: input.access,
      created_by: actor.userId,
      created_at: now.toISOString(),
      expires_at: expiresAt.toISOString(),
      max_downloads: input.maxDownloads ?? null,
      download_count: 0,
      bytes_served: 0,
      last_download_at: null,
      revoked_at: null,
    };
    await this.repos.shares.insert(share);
    await this.repos.audit.record({
      action: 'export.share_created',
      userId: actor.userId,
      projectId: ctx.project.id,
      targetType: 'export',
      targetId: row.id,
      ip: meta.ip,
      details: { shareId: share.id, access: share.access, expiresAt: share.expires_at, maxDownloads: share.max_downloads },
    });
    return { ...this.view(share, now, row.zip_size ?? 0), token, url: `${this.options.publicUrl.replace(/\/+$/, '')}/share/${token}` };
  }

  async list(actor: Actor, slug: string, exportId: string) {
    const { row } = await this.exports.manageable(actor, slug, exportId);
    const now = new Date();
    return (await this.repos.shares.listForExport(row.id)).map((s) => this.view(s, now, row.zip_size ?? 0));
  }

  async revoke(actor: Actor, slug: string, exportId: string, shareId: string, meta: RequestMeta): Promise<void> {
    const { ctx, row } = await this.exports.manageable(actor, slug, exportId);
    if (!(await this.repos.shares.revoke(row.id, shareId, new Date().toISOString()))) throw new AppError('not_found', 'not_found', 'Share link was not found.');
    await this.repos.audit.record({ action: 'export.share_revoked', userId: actor.userId, projectId: ctx.project.id, targetType: 'export', targetId: row.id, ip: meta.ip, details: { shareId } });
  }

  /** What the landing page shows about a shared export. */
  async info(token: string, user: UserRow | null) {
    const { share, row } = await this.open(token, user);
    const creator = await this.repos.users.findById(row.created_by);
    return {
      name: row.name,
      zipSize: row.zip_size ?? 0,
      fileCount: row.file_count,
      patientCount: row.patient_count,
      createdBy: creator?.display_name || creator?.username || '',
      completedAt: row.completed_at,
      expiresAt: share.expires_at,
      access: share.access,
      downloadsLeft: share.max_downloads === null ? null : Math.max(0, Math.floor(share.max_downloads - share.bytes_served / Math.max(1, row.zip_size ?? 1))),
    };
  }

  async download(token: string, user: UserRow | null, range: ByteRange | null, meta: RequestMeta): Promise<ExportDownload> {
    const { share, row } = await this.open(token, user);
    const download = await this.exports.openZip(row, range);
    try {
      if (!(await this.repos.shares.reserveBytes(share.id, download.size, allowance(share, download.totalSize)))) throw linkNotFound();
      const now = new Date().toISOString();
      if (!download.range || download.range.start === 0) {
        await this.repos.shares.countDownload(share.id, now);
        await this.repos.exports.recordDownload(row.id, now);
      }
      await this.repos.audit.record({
        action: 'export.downloaded',
        userId: user?.id ?? null,
        projectId: row.project_id,
        targetType: 'export',
        targetId: row.id,
        ip: meta.ip,
        details: { shareId: share.id, ...(download.range ? { range: `${download.range.start}-${download.range.end}` } : {}) },
      });
    } catch (error) {
      download.stream.destroy();
      throw error;
    }
    return { ...download, stream: this.refundUnsent(download, share.id) };
  }

  /** Counts what actually leaves; a broken download gives the rest of its reservation back. */
  private refundUnsent(download: ExportDownload, shareId: string): Readable {
    let sent = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        sent += chunk.length;
        done(null, chunk);
      },
    });
    download.stream.once('error', (error) => counter.destroy(error));
    counter.once('close', () => {
      download.stream.destroy();
      if (sent < download.size) void this.repos.shares.refundBytes(shareId, download.size - sent).catch(() => undefined);
    });
    return download.stream.pipe(counter);
  }

  private async open(token: string, user: UserRow | null): Promise<{ share: ExportShareRow; row: ExportRow }> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) throw linkNotFound();
    const share = await this.repos.shares.findByTokenHash(sha256Hex(token));
    const now = new Date();
    if (!share) throw linkNotFound();
    const row = await this.repos.exports.findById(share.export_id);
    if (shareState(share, now, row?.zip_size ?? 0) !== 'active') throw linkNotFound();
    if (!row || row.deleted_at || row.status !== 'completed' || (row.expires_at && Date.parse(row.expires_at) <= now.getTime())) throw linkNotFound();
    // Turning public links off closes the ones already handed out, not only new ones.
    if (share.access === 'link' && !this.options.allowPublicLinks) throw linkNotFound();
    if (share.access === 'members') {
      if (!user) throw unauthorized('Sign in to open this link: it is shared with project members.');
      const access = await this.repos.projects.accessOf(row.project_id, user.id);
      const actor = { userId: user.id, isSiteAdmin: user.is_site_admin === 1 };
      if (!(await this.exports.maySeeAllPatients(actor, access, row))) throw forbidden('This export holds patients you do not have access to.');
    }
    return { share, row };
  }

  private view(share: ExportShareRow, now: Date, zipSize: number) {
    return {
      id: share.id,
      access: share.access,
      createdAt: share.created_at,
      expiresAt: share.expires_at,
      maxDownloads: share.max_downloads,
      downloadCount: share.download_count,
      lastDownloadAt: share.last_download_at,
      revokedAt: share.revoked_at,
      state: shareState(share, now, zipSize),
    };
  }
}
