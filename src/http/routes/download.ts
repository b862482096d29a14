import type { FastifyReply } from 'fastify';
import type { ByteRange, ExportDownload } from '../../services/export-service.js';

/**
 * `bytes=START-END`, `bytes=START-` or `bytes=-SUFFIX`. Anything else, including several ranges,
 * is ignored as HTTP allows, and the whole file is sent.
 */
export function parseRange(header: string | undefined): ByteRange | null {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  if (match[1] === '') return { end: Number(match[2]) };
  return { start: Number(match[1]), end: match[2] === '' ? undefined : Number(match[2]) };
}

/** Streams a ZIP as an attachment, with the headers that let browsers and `curl -C -` resume. */
export function sendDownload(reply: FastifyReply, d: ExportDownload) {
  const ascii = d.fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  reply
    .header('content-type', 'application/zip')
    .header('content-disposition', `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(d.fileName)}`)
    .header('etag', d.etag)
    .header('last-modified', new Date(d.lastModified).toUTCString())
    .header('accept-ranges', 'bytes')
    .header('cache-control', 'private, no-transform')
    .header('content-length', String(d.size));
  if (d.range) reply.status(206).header('content-range', `bytes ${d.range.start}-${d.range.end}/${d.totalSize}`);
  return reply.send(d.stream);
}
